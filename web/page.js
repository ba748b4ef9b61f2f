// The page's behaviour. It takes the form over: n is checked here first, then F(n) and the
// first n numbers are asked for over the WebSocket v1/stream, shown as they arrive and hashed
// into the MD5 of Python's str() of the list. A connection that drops is opened again after a
// back-off, and the stream goes on from the next index. Without JavaScript the form still
// works: the server answers /?num=N with the page showing F(N).
'use strict';
(function () {
  // How many of the latest numbers stay in the list, and about how many of their digits: the
  // DOM stays small however large n is (25,000 numbers are 65 MB of text).
  const SHOWN_NUMBERS = 100;
  const SHOWN_DIGITS = 100000;
  // The list is redrawn at most this often; the progress and the count every animation frame.
  // Laying out thousands of digits each frame would take the main thread from the stream.
  const LIST_INTERVAL_MS = 250;
  // Reconnecting: the first wait, the longest, and how many attempts in a row without a
  // single answer frame before giving up.
  const RETRY_FIRST_MS = 100;
  const RETRY_MAX_MS = 5000;
  const RETRY_ATTEMPTS = 8;

  const $ = (id) => document.getElementById(id);
  const form = $('form');
  const input = $('num');
  const errorEl = $('error');
  const valueEl = $('value');
  const streamEl = $('stream');
  const progressEl = $('progress');
  const barEl = $('progress-bar');
  const statusEl = $('status');
  const countEl = $('count');
  const totalEl = $('total');
  const md5El = $('md5');
  const md5NoteEl = $('md5-note');
  const listEl = $('numbers');
  const listTitleEl = $('numbers-title');

  // The server's --max-fibonacci: n (an index here, as in /?num=N) must be below it.
  const maxFibonacci = BigInt(form.dataset.maxFibonacci);

  // Every JSON number is kept as the text it was written as. The reviver receives each value's
  // source text (JSON.parse source text access, TC39 stage 4: Chromium 114, Firefox 135,
  // Safari 18.4), so the browser's own JSON parser reads every frame and no number passes
  // through a double, which is exact only up to 2^53 (F(79) is past it). A JSON parser of our
  // own, or a regular expression over the frame, would be a second parser to get right.
  function parseFrame(text) {
    return JSON.parse(text, (key, value, context) =>
      typeof value === 'number' ? context.source : value);
  }
  const exactNumbers = (() => {
    try {
      return parseFrame('[9007199254740993]')[0] === '9007199254740993';
    } catch (e) {
      return false;
    }
  })();
  // Without it the numbers could not be shown exactly: leave the form to the server.
  if (!exactNumbers || typeof window.SparkMD5 !== 'function') return;
  form.noValidate = true;

  let job = null;  // the computation on screen
  let socket = null;  // the WebSocket in use, or null
  let nextId = 1;  // request ids; a frame with another job's id is ignored
  let attempts = 0;  // reconnections since the last frame that answered this job
  let retryTimer = 0;
  let renderQueued = false;

  // The message for text typed as n, or null when it is a valid index.
  function inputError(text) {
    const t = text.trim();
    const given = t.length > 40 ? JSON.stringify(t.slice(0, 40)) + '... (' + t.length +
        ' characters)' : JSON.stringify(t);
    if (t === '') return 'Enter n, a whole number below ' + maxFibonacci + '.';
    if (/^-[0-9]+$/.test(t) && /[1-9]/.test(t)) return 'n must not be negative, got ' + given + '.';
    if (!/^[0-9]+$/.test(t)) return 'n must be a whole number (digits only), got ' + given + '.';
    if (BigInt(t) >= maxFibonacci) {
      return 'n must be below ' + maxFibonacci + " (the server's limit), got " + given + '.';
    }
    return null;
  }

  function newJob(n) {
    const hasher = new window.SparkMD5();
    hasher.appendBinary('[');
    return {
      n: n,
      next: 0,  // index of the next number of the list
      value: null,  // F(n) as text, once it arrived
      valueId: null,  // id of the request for F(n)
      listId: null,  // id of the latest request for the list
      listRequests: 0,  // requests for the list: more than one means it was resumed
      listDone: false,  // every number is here (and, unless a drop came first, the summary)
      hasher: hasher,  // MD5 over "[0, 1, 1, 2, ..." so far
      serverMd5: null,  // the "done" frame's md5 and count for the latest list request
      serverCount: null,
      finished: false,
      lost: false,  // finished because reconnecting failed: the same n again resumes it
      fresh: [],  // numbers not yet drawn: [index, text], at most 2 * SHOWN_NUMBERS
      shownDigits: [],  // digits of each list item drawn, oldest first
      listDrawnAt: -Infinity,  // performance.now() of the last drawList()
    };
  }

  function send(request) {
    socket.send(JSON.stringify(request));
  }

  // What the job still needs, asked for on an open socket: F(n) unless it arrived, and the
  // list from the next index (the whole list the first time).
  function sendRequests() {
    if (!job || job.finished || !socket || socket.readyState !== WebSocket.OPEN) return;
    if (job.value === null) {
      job.valueId = String(nextId);
      send({id: nextId++, sequence: 'fibonacci', from: job.n, to: job.n});
    }
    if (!job.listDone) {
      job.listId = String(nextId);
      if (job.listRequests === 0) {
        send({id: nextId++, sequence: 'fibonacci', n: job.n});
      } else {
        send({id: nextId++, sequence: 'fibonacci', from: job.next, to: job.n - 1});
        setStatus('Reconnected: going on from F(' + job.next + ').');
      }
      job.listRequests++;
    }
  }

  function streamUrl() {
    const url = new URL('v1/stream', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '';
    url.hash = '';
    return url.href;
  }

  function connect() {
    clearTimeout(retryTimer);
    const ws = new WebSocket(streamUrl());
    socket = ws;
    ws.onopen = () => {
      if (socket === ws) sendRequests();
    };
    ws.onmessage = (event) => {
      if (socket === ws) receive(event.data);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      dropped();
    };
  }

  // The socket closed. An idle one is opened again by the next request; a job that is not
  // finished reconnects after a back-off that doubles with each attempt in a row.
  function dropped() {
    if (!job || job.finished) return;
    // Every number is here and only the summary was lost: nothing to ask for again.
    if (job.listRequests > 0 && job.next === job.n) job.listDone = true;
    if (finishIfComplete()) return;
    if (attempts >= RETRY_ATTEMPTS) {
      fail('The connection to the server was lost at F(' + job.next + ') and ' + attempts +
           ' attempts to reconnect failed. Calculate again to go on from there.');
      job.lost = true;
      return;
    }
    const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempts) *
        (0.8 + 0.4 * Math.random());
    attempts++;
    setStatus('Connection lost at F(' + job.next + '); reconnecting in ' +
              (wait / 1000).toFixed(1) + ' s (attempt ' + attempts + ' of ' + RETRY_ATTEMPTS +
              ').');
    retryTimer = setTimeout(connect, wait);
  }

  function receive(data) {
    if (!job || job.finished || typeof data !== 'string') return;
    let frame;
    try {
      frame = parseFrame(data);
    } catch (e) {
      fail('The server sent a frame that is not JSON: ' + e.message);
      return;
    }
    if (frame === null || typeof frame !== 'object') return;
    if (frame.id !== job.valueId && frame.id !== job.listId) return;  // an earlier job's
    attempts = 0;
    if (typeof frame.error === 'string') {
      fail(frame.error);
    } else if (frame.id === job.valueId) {
      if (Array.isArray(frame.numbers) && frame.numbers.length === 1 && job.value === null) {
        job.value = frame.numbers[0];
        showValue();
        finishIfComplete();
      }
    } else if (Array.isArray(frame.numbers)) {
      receiveNumbers(Number(frame.from), frame.numbers);
    } else if (frame.done === true) {
      job.serverMd5 = String(frame.md5);
      job.serverCount = Number(frame.count);
      job.listDone = true;
      finishIfComplete();
    }
  }

  function receiveNumbers(from, numbers) {
    if (from !== job.next || job.next + numbers.length > job.n) {
      fail('The server sent F(' + from + ') onwards where F(' + job.next + ') was next.');
      return;
    }
    // The list's text as Python's str() writes it, hashed in one piece per frame. The digits
    // are ASCII, so the text is its own UTF-8 and appendBinary() needs no conversion.
    let text = '';
    for (let i = 0; i < numbers.length; i++) {
      const number = numbers[i];
      if (typeof number !== 'string' || !/^[0-9]+$/.test(number)) {
        fail('The server sent something other than a number for F(' + (job.next + i) + ').');
        return;
      }
      text += (job.next + i === 0 ? '' : ', ') + number;
    }
    job.hasher.appendBinary(text);
    for (let i = Math.max(0, numbers.length - SHOWN_NUMBERS); i < numbers.length; i++) {
      job.fresh.push([job.next + i, numbers[i]]);
    }
    if (job.fresh.length > 2 * SHOWN_NUMBERS) job.fresh = job.fresh.slice(-SHOWN_NUMBERS);
    job.next += numbers.length;
    scheduleRender();
  }

  // Finishes the job once F(n) and the whole list are here. True if it did.
  function finishIfComplete() {
    if (job.finished || job.value === null || !job.listDone) return false;
    job.finished = true;
    job.hasher.appendBinary(']');
    const md5 = job.hasher.end();
    md5El.textContent = md5;
    const resumed = job.listRequests - 1;
    if (resumed > 0) {
      setNote('computed here over all ' + job.n + ' numbers; the stream resumed after ' +
              reconnections(resumed) + ", so the server's MD5 covers only its last part", '');
    } else if (job.serverMd5 === null) {
      setNote("computed here; the server's MD5 did not arrive", '');
    } else if (job.serverMd5 === md5 && job.serverCount === job.n) {
      setNote("matches the server's MD5", 'ok');
    } else {
      setNote("does not match the server's MD5 " + job.serverMd5 + ' of ' + job.serverCount +
              ' numbers', 'bad');
    }
    setStatus('Done: all ' + job.n + ' numbers received' +
              (resumed > 0 ? ', after ' + reconnections(resumed) + '.' : '.'));
    render(true);
    return true;
  }

  function reconnections(k) {
    return k + (k === 1 ? ' reconnection' : ' reconnections');
  }

  function fail(message) {
    job.finished = true;
    showError(message);
    setStatus('Stopped at F(' + job.next + ').');
    render(true);
  }

  function showError(message) {
    errorEl.textContent = message;
    if (message) {
      input.setAttribute('aria-invalid', 'true');
    } else {
      input.removeAttribute('aria-invalid');
    }
  }

  function setStatus(text) {
    statusEl.textContent = text;
  }

  function setNote(text, kind) {
    md5NoteEl.textContent = text ? '(' + text + ')' : '';
    md5NoteEl.className = 'note' + (kind ? ' ' + kind : '');
  }

  function showValue() {
    valueEl.textContent = 'F(' + job.n + ') = ' + (job.value === null ? '\u2026' : job.value);
  }

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  // Draws what arrived since the last frame: the progress and the count, and the latest
  // numbers unless they were drawn less than LIST_INTERVAL_MS ago (or `all`).
  function render(all) {
    if (!job) return;
    const share = job.n === 0 ? 1 : job.next / job.n;
    barEl.style.transform = 'scaleX(' + share.toFixed(4) + ')';
    progressEl.setAttribute('aria-valuenow', String(job.next));
    progressEl.setAttribute('aria-valuetext', job.next + ' of ' + job.n + ' numbers');
    countEl.textContent = String(job.next);
    if (job.fresh.length === 0) return;
    const now = performance.now();
    if (all || now - job.listDrawnAt >= LIST_INTERVAL_MS) {
      job.listDrawnAt = now;
      drawList();
    } else {
      scheduleRender();  // the numbers held back are drawn in a later frame
    }
  }

  function drawList() {
    const fresh = job.fresh.slice(-SHOWN_NUMBERS);
    job.fresh = [];
    const items = document.createDocumentFragment();
    for (const [k, digits] of fresh) {
      const item = document.createElement('li');
      const index = document.createElement('span');
      index.className = 'k';
      index.textContent = 'F(' + k + ')';
      const value = document.createElement('span');
      value.className = 'v';
      value.textContent = digits;
      item.append(index, ' ', value);
      items.append(item);
      job.shownDigits.push(digits.length);
    }
    listEl.append(items);
    let digits = job.shownDigits.reduce((a, b) => a + b, 0);
    while (listEl.children.length > SHOWN_NUMBERS ||
           (digits > SHOWN_DIGITS && listEl.children.length > 1)) {
      listEl.firstElementChild.remove();
      digits -= job.shownDigits.shift();
    }
    const first = job.next - listEl.children.length;
    listTitleEl.textContent = 'Latest numbers: F(' + first + ') to F(' + (job.next - 1) + ')';
  }

  function start(n) {
    showError('');
    clearTimeout(retryTimer);
    attempts = 0;
    // An unfinished answer would keep the socket busy: the server answers requests one after
    // another. Closing it stops that answer; the new job opens a fresh socket.
    if (job && !job.finished && socket) {
      const old = socket;
      socket = null;
      old.close(1000, 'a new request');
    }
    job = newJob(n);
    showValue();
    streamEl.hidden = false;
    $('stream-n').textContent = String(n);
    totalEl.textContent = String(n);
    progressEl.setAttribute('aria-valuemax', String(n));
    md5El.textContent = '\u2026';
    setNote('', '');
    listEl.replaceChildren();
    listTitleEl.textContent = n === 0 ? 'Latest numbers: none, n is 0' : 'Latest numbers';
    $('as-json').href = 'v1/fibonacci?n=' + n;
    $('as-text').href = 'fib?limit=' + n;
    setStatus('Receiving\u2026');
    render();
    // The address names what is shown, so it can be shared, and works without JavaScript.
    history.replaceState(null, '', '?num=' + n);
    if (socket === null) {
      connect();
    } else {
      sendRequests();  // open: now; connecting: its onopen sends them
    }
  }

  // The same n again after the page gave up reconnecting: go on where the stream stopped.
  function resume() {
    job.lost = false;
    job.finished = false;
    attempts = 0;
    showError('');
    setStatus('Reconnecting\u2026');
    connect();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const error = inputError(input.value);
    if (error) {
      showError(error);
      input.focus();
      return;
    }
    const n = Number(input.value.trim());
    if (job && job.lost && job.n === n) {
      resume();
    } else {
      start(n);
    }
  });
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'));

  // /?num=N opened with JavaScript: the server has shown F(N); stream the list too.
  const asked = new URLSearchParams(location.search).get('num');
  if (asked !== null && errorEl.textContent === '' && inputError(asked) === null) {
    start(Number(asked.trim()));
  }
})();
