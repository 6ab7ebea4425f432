"""A local fake of the Telegram Bot API (real HTTP, Telegram's JSON and errors) and a
driver that acts as Telegram users. Import from the module that owns a name:

- driver.py: `FakeTelegram` (start and stop the server, make users, inject failures, read back calls)
- users.py: `FakeUser`, a resident or mediator in a private chat (send, press, wait for replies)
- server.py: the aiohttp app, its routes and the JSON answers (`build_app`)
- webhook.py: webhook delivery, POSTing queued updates to the bot
- api.py: `BotApi`, one bot's state with every method mixed in, and `METHODS`, the name table
- state.py: `BotState` (chats, update queue, files, call log, lock), `ChatState`, `Injection`
- messages.py: sendMessage, editMessageText, answerCallbackQuery, deleteMessage, getFile...
- account.py: getMe and the command menus (setMyCommands...)
- updates.py: getUpdates, setWebhook, deleteWebhook, getWebhookInfo, close, logOut
- params.py: request parameters and reply_markup as Telegram reads them; `ApiError`, Telegram's error JSON
- formatting.py: HTML, MarkdownV2 and Markdown parse modes, entity detection, trimming, UTF-16 lengths
- shapes.py: Telegram's object shapes checked with python-telegram-bot (`validate`, `ShapeError`)
"""
