// Keeps the queue and an open handoff's transcript fresh without reloading.
// Everything is built with textContent: message text is never parsed as HTML.
(function () {
  "use strict";
  var PERIOD = 3000;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  // GET JSON; a redirect to the login page (expired session) arrives as HTML.
  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        var type = r.headers.get("Content-Type") || "";
        if (!r.ok || type.indexOf("application/json") === -1) throw new Error("status " + r.status);
        return r.json();
      });
  }

  function poll(fn) {
    function tick() {
      if (document.hidden) { setTimeout(tick, PERIOD); return; }
      fn().catch(function () { return null; }).then(function () { setTimeout(tick, PERIOD); });
    }
    setTimeout(tick, PERIOD);
  }

  // data-label names a cell when a phone shows the row as a card.
  function cell(text, label, cls) {
    var td = el("td", text, cls);
    td.setAttribute("data-label", label);
    return td;
  }

  function queueRow(r, admin) {
    var tr = el("tr", null, r.status);
    var wait = cell(r.wait, "等待");
    wait.title = "开始等待：" + r.waiting_since;
    if (r.overdue) { wait.appendChild(document.createTextNode(" ")); wait.appendChild(el("strong", "超时", "overdue")); }
    tr.appendChild(wait);
    tr.appendChild(cell(r.reason + (r.automatic ? "（自动）" : ""), "来由"));
    tr.appendChild(cell(r.dispute, "类型"));
    tr.appendChild(cell(r.summary, "简述", "summary"));
    tr.appendChild(cell(r.phone, "电话"));
    tr.appendChild(cell(r.status_label, "状态"));
    tr.appendChild(cell(r.agent, "坐席"));
    var action = el("td", null, "action");
    if (r.status === "waiting") {
      var form = el("form");
      form.method = "post";
      form.action = r.take_url;
      var token = el("input");
      token.type = "hidden";
      token.name = "csrf_token";
      token.value = csrfToken();
      form.appendChild(token);
      var button = el("button", "接手");
      button.type = "submit";
      form.appendChild(button);
      action.appendChild(form);
    } else if (r.mine || admin) {
      var link = el("a", "打开");
      link.href = r.url;
      action.appendChild(link);
    }
    tr.appendChild(action);
    return tr;
  }

  function startQueue(table) {
    var body = table.querySelector("tbody");
    var status = document.getElementById("queue-status");
    var admin = table.getAttribute("data-admin") === "1";
    poll(function () {
      return getJSON(table.getAttribute("data-src")).then(function (rows) {
        var fresh = document.createDocumentFragment();
        rows.forEach(function (r) { fresh.appendChild(queueRow(r, admin)); });
        if (!rows.length) {
          var empty = el("tr", null, "empty");
          var cell = el("td", "目前没有排队的来电。");
          cell.colSpan = 8;
          empty.appendChild(cell);
          fresh.appendChild(empty);
        }
        body.replaceChildren(fresh);
        if (status) status.textContent = "";
      }, function (err) {
        if (status) status.textContent = "刷新失败，请检查网络或重新登录。";
        throw err;
      });
    });
  }

  // The resident left the queue while this agent held the chat: say so, and offer nothing to send.
  function showLeft(notice) {
    if (document.getElementById("resident-left")) return;
    var main = document.querySelector("main");
    var banner = el("p", notice, "flash warning");
    banner.id = "resident-left";
    banner.setAttribute("role", "alert");
    main.insertBefore(banner, main.firstChild);
    Array.prototype.forEach.call(main.querySelectorAll("form"), function (f) { f.hidden = true; });
  }

  function startTranscript(list) {
    poll(function () {
      return getJSON(list.getAttribute("data-src")).then(function (data) {
        if (data.left) { showLeft(data.notice); return; }
        var note = document.getElementById("transcript-note");
        if (note) note.hidden = data.ok;
        var count = parseInt(list.getAttribute("data-count"), 10) || 0;
        if (!data.ok || data.lines.length <= count) return;
        data.lines.slice(count).forEach(function (ln) {
          var li = el("li", null, ln.who);
          li.appendChild(el("span", ln.who_label + " · " + ln.at, "meta"));
          li.appendChild(el("span", ln.text, "text"));
          list.appendChild(li);
        });
        list.setAttribute("data-count", String(data.lines.length));
        list.lastElementChild.scrollIntoView({block: "nearest"});
      });
    });
  }

  // The statistics' area picker: a county first, then search its towns and service points.
  function startAreaPicker(box) {
    var select = box.querySelector("select");
    if (!select) return;
    var groups = Array.prototype.slice.call(select.querySelectorAll("optgroup"));
    var county = el("select");
    county.setAttribute("aria-label", "先选县区");
    county.appendChild(new Option("全部县区", ""));
    groups.forEach(function (g, i) { county.appendChild(new Option(g.label, String(i))); });
    var search = el("input");
    search.type = "search";
    search.placeholder = "搜索乡镇或服务点";
    search.setAttribute("aria-label", "搜索乡镇或服务点");
    var current = select.selectedOptions[0];
    var start = current ? groups.indexOf(current.parentNode) : -1;
    if (start > 0) county.value = String(start);
    function filter(pickFirst) {
      var g = county.value, words = search.value.trim();
      var first = null;
      groups.forEach(function (group, i) {
        var show = g === "" || String(i) === g || i === 0;
        group.hidden = !show;
        Array.prototype.forEach.call(group.children, function (o) {
          var hit = show && (!words || o.textContent.indexOf(words) !== -1 || i === 0);
          o.hidden = !hit;
          if (hit && !first && i !== 0) first = o;
        });
      });
      if (pickFirst && first) select.value = first.value;
    }
    county.addEventListener("change", function () { search.value = ""; filter(true); });
    search.addEventListener("input", function () { filter(search.value.trim() !== ""); });
    var l1 = el("label", "县区 ");
    l1.appendChild(county);
    var l2 = el("label", "搜索 ");
    l2.appendChild(search);
    box.insertBefore(l2, box.firstChild);
    box.insertBefore(l1, box.firstChild);
    filter(false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var picker = document.querySelector("[data-picker]");
    if (picker) startAreaPicker(picker);
    var table = document.getElementById("queue");
    if (table) startQueue(table);
    var list = document.getElementById("transcript");
    if (list) startTranscript(list);
  });
})();

// A print button (the QR poster): no inline script under the desk's CSP.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function () { window.print(); });
  }
})();
