/* The web chat page. ES5 and XMLHttpRequest: old Android WebViews (WeChat's included)
   run it. Nothing is kept in the browser beyond the HttpOnly cookie. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var log = document.getElementById("log");
  var text = document.getElementById("text");
  var form = document.getElementById("composer");
  var locate = document.getElementById("locate");
  var typing = document.getElementById("typing");
  var status = document.getElementById("status");
  var seen = {}, lastId = 0, unread = 0, readTimer = null, typingTimer = null, busy = false, source = null, live = false;
  var TITLE = "黑河法院调解助手";

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (content) { node.textContent = content; }
    return node;
  }

  function request(method, url, body, done) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, url, true);
    xhr.setRequestHeader("Accept", "application/json");
    if (body !== null) {
      xhr.setRequestHeader("Content-Type", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
    }
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) { return; }
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      done(xhr.status, data || {});
    };
    xhr.send(body === null ? null : JSON.stringify(body));
  }

  function showTitle() {
    document.title = unread > 0 ? "(" + unread + ") " + TITLE : TITLE;
  }

  function markRead() {
    if (document.hidden || !lastId) { return; }
    unread = 0;
    showTitle();
    clearTimeout(readTimer);
    readTimer = setTimeout(function () { request("POST", "/api/read", { up_to: lastId }, function () {}); }, 300);
  }

  function clock(iso) {
    var d = new Date(iso + (iso.indexOf("+") < 0 && iso.indexOf("Z") < 0 ? "Z" : ""));
    if (isNaN(d.getTime())) { return ""; }
    function two(n) { return n < 10 ? "0" + n : "" + n; }
    return (d.getMonth() + 1) + "月" + d.getDate() + "日 " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function venue(box, v) {
    var card = el("div", "venue");
    card.appendChild(el("strong", "", "📍 " + v.title));
    if (v.address) { card.appendChild(el("div", "", v.address)); }
    var app = el("a", "", "用地图App导航");
    app.href = v.geo;
    var web = el("a", "", "网页地图");
    web.href = v.map;
    web.target = "_blank";
    web.rel = "noopener noreferrer";
    card.appendChild(app);
    card.appendChild(web);
    box.appendChild(card);
  }

  function buttons(box, m) {
    var row = el("div", "buttons");
    m.buttons.forEach(function (b) {
      var button = el("button", "", b.label);
      button.type = "button";
      button.setAttribute("data-token", b.token);
      button.onclick = function () { press(row, b.token); };
      row.appendChild(button);
    });
    box.appendChild(row);
  }

  function render(m) {
    if (!m || seen[m.id]) { return; }
    seen[m.id] = true;
    lastId = Math.max(lastId, m.id);
    var box = el("div", "msg " + m.role, m.text);
    box.setAttribute("data-id", m.id);
    if (m.venue) { venue(box, m.venue); }
    if (m.buttons && m.buttons.length) { buttons(box, m); }
    if (m.chosen) { box.appendChild(el("div", "chosen", "✔ " + m.chosen)); }
    var when = el("time", "", clock(m.at));
    box.insertBefore(when, box.firstChild);
    log.appendChild(box);
    if (m.role !== "resident") {
      typing.hidden = true;
      locate.hidden = m.keyboard !== "location";
      text.setAttribute("inputmode", m.keyboard === "contact" ? "tel" : "text");
      text.placeholder = m.keyboard === "contact" ? "请输入手机号" :
        (m.keyboard === "location" ? "也可以直接输入乡镇名称" : "说说您遇到的事…");
      if (live && document.hidden) { unread += 1; showTitle(); }
    }
    box.scrollIntoView(false);
  }

  function renderAll(list) { (list || []).forEach(render); markRead(); }

  function chosen(token, label) {
    var button = log.querySelector('button[data-token="' + token + '"]');
    if (!button) { return; }
    var row = button.parentNode;
    row.parentNode.appendChild(el("div", "chosen", "✔ " + label));
    row.parentNode.removeChild(row);
  }

  function clear() {
    log.textContent = "";
    seen = {};
    document.getElementById("news").hidden = true;
  }

  document.getElementById("erase").onclick = function () { post("/api/erase", {}); };

  function say(problem) {
    status.textContent = problem;
    status.hidden = !problem;
  }

  function post(url, body) {
    busy = true;
    request("POST", url, body, function (code, data) {
      busy = false;
      if (code === 200) {
        say("");
        if (data.cleared) { clear(); }
        renderAll(data.messages);
        return;
      }
      say(data.error || "网络不好，没有发出去，请稍后再试。");
    });
  }

  function press(row, token) {
    var all = row.querySelectorAll("button");
    for (var i = 0; i < all.length; i += 1) { all[i].disabled = true; }
    post("/api/press", { token: token });
  }

  form.onsubmit = function (event) {
    event.preventDefault();
    var body = text.value.replace(/^\s+|\s+$/g, "");
    if (!body || busy) { return; }
    text.value = "";
    post("/api/send", { text: body });
  };
  text.onkeydown = function (event) {
    if (event.key === "Enter" && !event.shiftKey) { form.onsubmit(event); }
  };

  locate.onclick = function () {
    if (!navigator.geolocation) { say("这个浏览器不能定位，请直接输入乡镇名称。"); return; }
    say("正在定位…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      say("");
      locate.hidden = true;
      post("/api/location", { latitude: pos.coords.latitude, longitude: pos.coords.longitude });
    }, function () {
      say("没能定位（可能没有允许），请直接输入乡镇名称。");
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
  };

  function news(list, count) {
    var pushes = list.filter(function (m) { return m.role !== "resident"; }).slice(-count).reverse();
    if (!pushes.length) { return; }
    document.getElementById("news-title").textContent = "您不在时有" + pushes.length + "条新消息（最新在前）";
    var ol = document.getElementById("news-list");
    pushes.forEach(function (m) { ol.appendChild(el("li", "", m.text.split("\n")[0] || "📍 地点")); });
    document.getElementById("news").hidden = false;
  }

  function appointments(list) {
    var ul = document.getElementById("appt-list");
    ul.textContent = "";
    if (!list.length) { ul.appendChild(el("li", "", "暂时没有预约。")); }
    list.forEach(function (a) {
      ul.appendChild(el("li", "", a.reference + "  " + a.time + "\n" + a.place + "\n调解员：" + a.mediator + "（" + a.status + "）"));
    });
  }
  document.getElementById("show-appts").onclick = function () {
    var panel = document.getElementById("appts");
    panel.hidden = !panel.hidden;
    if (!panel.hidden) {  // fresh: a booking or a push may have changed them
      request("GET", "/api/state", null, function (code, data) { if (code === 200) { appointments(data.appointments || []); } });
    }
  };

  function listen() {
    if (!window.EventSource) { setInterval(poll, 5000); return; }
    source = new EventSource("/api/events?after=" + lastId);
    source.onopen = function () { say(""); };
    source.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "message") { render(data.message); markRead(); }
      if (data.type === "chosen") { chosen(data.token, data.label); }
      if (data.type === "cleared") { clear(); }
      if (data.type === "typing") {
        typing.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.hidden = true; }, 6000);
      }
    };
    source.onerror = function () {
      say("连接中断，正在重新连接…");
      if (source.readyState === 2) { source.close(); setTimeout(listen, 3000); }
    };
  }

  function poll() {
    request("GET", "/api/state", null, function (code, data) { if (code === 200) { renderAll(data.messages); } });
  }

  document.addEventListener("visibilitychange", markRead);

  request("GET", "/api/state", null, function (code, data) {
    if (code !== 200) { say("页面加载失败，请刷新。"); return; }
    unread = data.unread || 0;
    showTitle();
    if (unread) { news(data.messages, unread); }
    appointments(data.appointments || []);
    (data.messages || []).forEach(render);
    live = true;
    if (!document.hidden) { markRead(); }
    listen();
    if (data["new"]) { post("/api/start", {}); }
  });
}());
