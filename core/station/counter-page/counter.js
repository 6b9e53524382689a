// The counter page (售气界面). It is also the working example for a company's web app: every call carries
// the pairing key (Authorization: Bearer mhs_…) and the clerk (X-MeterHub-Clerk); the event WebSocket
// proves itself with its first message. Plain browser JavaScript, no build step, nothing from the network.

const KEY = 'meterhub.station.key';
const CLERK = 'meterhub.station.clerk';
const $ = (id) => document.getElementById(id);

const T = {
  zh: {
    title: '售气界面',
    training: '模拟读卡器（培训）',
    wsOn: '事件已连接',
    wsOff: '事件未连接',
    pairTitle: '配对与营业员',
    pairHint: '配对密钥由管理员在本机运行 meterhub station pair 生成；只保存在本页面，不会显示。',
    key: '配对密钥',
    clerk: '营业员工号',
    save: '保存',
    forget: '清除密钥',
    simTitle: '模拟读卡器（培训）',
    ins4442: '插入 4442 空白卡',
    ins102: '插入 102 空白卡',
    insCpu: '插入 CPU 空白卡',
    remove: '拔卡',
    meter: '插表（替身表回写）',
    cardTitle: '卡片',
    read: '读卡',
    opsTitle: '业务',
    maker: '厂家',
    cardNo: '卡号',
    gas: '气量 m³',
    meterKind: '表类型',
    residential: '民用',
    industrial: '工业',
    issue: '发卡',
    purchase: '购气',
    reissue: '补卡',
    refund: '退气',
    format: '擦卡',
    tool: '工具卡',
    toolClear: '清零卡',
    toolCheck: '检查卡',
    toolSetup: '设置卡',
    toolOpen: '开阀卡',
    toolClose: '关阀卡',
    makeTool: '制作工具卡',
    receipt: '小票',
    print: '打印小票',
    events: '过程',
    paired: '已配对',
    notPaired: '未配对',
    noClerk: '请先填写营业员工号',
    cardType: '卡型',
    kind: '类别',
    count: '次数',
    writeBack: '表回写',
    written: '已回写',
    notWritten: '未回写',
    ledger: '台账',
    pending: '未确认交易',
    attempts: '密码剩余次数',
    none: '无',
    user: '用户卡',
    blank: '空白卡',
    toolKind: '工具卡',
    unknown: '无法识别',
    months: '月用气量',
    meterCode: '表上代码',
    standIn: '替身库（卡片布局为编造）',
    recoverTitle: '恢复',
    retry: '重试（同一笔交易）',
    rewrite: '掉气补气（rewrite）',
    reverse: '冲正（reverse）',
    confirm: '确认（recover confirm）',
    tx: '交易号',
    operation: '业务',
    time: '时间',
    station: '柜台工作站',
    sim: '模拟读卡器操作',
    recover: '恢复',
    receiptHead: 'MeterHub 燃气售气小票',
    receiptTraining: '【培训 · 模拟读卡器，非正式售气】',
    lang: 'English',
  },
  en: {
    title: 'Counter',
    training: 'simulated reader (training)',
    wsOn: 'events connected',
    wsOff: 'events not connected',
    pairTitle: 'Pairing and clerk',
    pairHint:
      'An administrator makes the pairing key on this PC with meterhub station pair; it stays in this page only.',
    key: 'Pairing key',
    clerk: 'Clerk no.',
    save: 'Save',
    forget: 'Forget key',
    simTitle: 'Simulated reader (training)',
    ins4442: 'Insert blank 4442',
    ins102: 'Insert blank 102',
    insCpu: 'Insert blank CPU card',
    remove: 'Remove card',
    meter: 'Into the meter (stand-in write-back)',
    cardTitle: 'Card',
    read: 'Read card',
    opsTitle: 'Operations',
    maker: 'Maker',
    cardNo: 'Card no.',
    gas: 'Gas m³',
    meterKind: 'Meter kind',
    residential: 'residential',
    industrial: 'industrial',
    issue: 'Issue',
    purchase: 'Sell gas',
    reissue: 'Reissue',
    refund: 'Refund',
    format: 'Format',
    tool: 'Tool card',
    toolClear: 'Clear',
    toolCheck: 'Check',
    toolSetup: 'Setup',
    toolOpen: 'Valve open',
    toolClose: 'Valve close',
    makeTool: 'Make tool card',
    receipt: 'Receipt',
    print: 'Print receipt',
    events: 'Progress',
    paired: 'paired',
    notPaired: 'not paired',
    noClerk: 'Enter the clerk number first',
    cardType: 'Card type',
    kind: 'Kind',
    count: 'Count',
    writeBack: 'Meter write-back',
    written: 'written',
    notWritten: 'not written',
    ledger: 'Ledger',
    pending: 'Unconfirmed',
    attempts: 'Password attempts left',
    none: 'none',
    user: 'user card',
    blank: 'blank card',
    toolKind: 'tool card',
    unknown: 'unknown',
    months: 'Monthly usage',
    meterCode: 'Meter code',
    standIn: 'stand-in library (invented layout)',
    recoverTitle: 'Recovery',
    retry: 'Retry (same transaction)',
    rewrite: 'Re-deliver (rewrite, 掉气补气)',
    reverse: 'Reverse (冲正)',
    confirm: 'Confirm (recover confirm)',
    tx: 'Transaction',
    operation: 'Operation',
    time: 'Time',
    station: 'Counter station',
    sim: 'simulated reader',
    recover: 'recovery',
    receiptHead: 'MeterHub gas receipt',
    receiptTraining: '[TRAINING - simulated reader, not a sale]',
    lang: '中文',
  },
};

const state = {
  lang: localStorage.getItem('meterhub.lang') === 'en' ? 'en' : 'zh',
  key: localStorage.getItem(KEY) ?? '',
  clerk: sessionStorage.getItem(CLERK) ?? '',
  training: document.documentElement.dataset.training === '1',
  last: null,
};
const t = (k) => T[state.lang][k] ?? k;

// A key handed over as http://127.0.0.1:<port>/#pair=mhs_… is taken once and removed from the address bar
// (a fragment never reaches a server or a log).
const frag = /^#pair=(mhs_[A-Za-z0-9_-]{43})$/.exec(location.hash);
if (frag) {
  state.key = frag[1];
  localStorage.setItem(KEY, state.key);
  history.replaceState(null, '', location.pathname);
}

/** One call to the station, as every paired client makes it. */
async function call(method, path, body) {
  const headers = { authorization: `Bearer ${state.key}` };
  if (state.clerk) headers['x-meterhub-clerk'] = state.clerk;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  return { ok: res.ok, status: res.status, body: json };
}

function applyLang() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('lang').textContent = t('lang');
  document.title = `${t('title')} · MeterHub`;
  $('ws').textContent = $('ws').classList.contains('on') ? t('wsOn') : t('wsOff');
  showPairState();
  if (state.lastCard) showCard(state.lastCard);
  if (state.lastResult) showResult(state.lastResult.r, state.lastResult.op);
}

function showPairState() {
  $('pair-state').textContent = state.key ? t('paired') : t('notPaired');
  $('pair-state').className = state.key ? 'ok' : 'err';
  $('who').textContent = state.clerk ? `${t('clerk')}: ${state.clerk}` : '';
}

function row(tbody, k, v) {
  const tr = document.createElement('tr');
  const a = document.createElement('td');
  const b = document.createElement('td');
  a.textContent = k;
  b.textContent = v;
  tr.append(a, b);
  tbody.append(tr);
}

function showCard(c) {
  state.lastCard = c;
  const tb = $('card').querySelector('tbody');
  tb.replaceChildren();
  const kinds = {
    user: t('user'),
    blank: t('blank'),
    tool: t('toolKind'),
    unknown: t('unknown'),
    'blank-or-unknown': t('blank'),
  };
  row(tb, t('cardType'), c.cardType ?? '-');
  row(tb, t('kind'), kinds[c.kind] ?? c.kind ?? '-');
  row(tb, t('maker'), c.maker ?? '-');
  if (c.kind === 'user') {
    row(tb, t('cardNo'), c.cardNo);
    row(tb, t('gas'), String(c.gas));
    row(tb, t('count'), String(c.count));
    row(tb, t('meterKind'), c.meterKind === 2 ? t('industrial') : t('residential'));
    if (c.writeBack) {
      row(tb, t('writeBack'), c.writeBack.written ? t('written') : t('notWritten'));
      if (c.writeBack.lastCode) {
        const lc = c.writeBack.lastCode;
        row(tb, t('meterCode'), `${lc.code}: ${state.lang === 'zh' ? (lc.zh ?? '?') : (lc.en ?? '?')}`);
      }
      const months = (c.writeBack.months ?? []).map((m) => `${m.month} ${m.usage} m³`).join('；');
      if (months) row(tb, t('months'), months);
    }
    if (c.ledger)
      row(tb, t('ledger'), c.ledger.known ? `${t('count')} ${c.ledger.count} · ${c.ledger.status}` : t('none'));
    row(tb, t('pending'), c.ledger?.pendingTransactionId ?? t('none'));
  }
  if (c.attemptsLeft !== undefined) row(tb, t('attempts'), String(c.attemptsLeft));
  if (c.standIn) row(tb, '⚠', t('standIn'));
  if (c.maker) $('maker').value = c.maker;
  if (c.cardNo) $('cardNo').value = c.cardNo;
}

function showResult(r, op) {
  state.lastResult = { r, op };
  const box = $('result');
  box.replaceChildren();
  const p = document.createElement('p');
  if (r.ok) {
    p.className = 'ok';
    p.textContent = r.body.message ? (state.lang === 'zh' ? r.body.message.zh : r.body.message.en) : `${t(op)} ✓`;
    box.append(p);
    return;
  }
  const e = r.body.error ?? { code: `HTTP_${r.status}`, messageZh: String(r.status), messageEn: String(r.status) };
  p.className = 'err';
  const code = document.createElement('span');
  code.className = 'code';
  code.id = 'error-code';
  code.textContent = e.code;
  p.append(code, ' ', state.lang === 'zh' ? (e.messageZh ?? e.message) : (e.messageEn ?? e.message));
  box.append(p);
  const other = document.createElement('p');
  other.className = 'hint';
  other.textContent = state.lang === 'zh' ? (e.messageEn ?? '') : (e.messageZh ?? '');
  box.append(other);
  // A write that did not finish: the operator's recovery steps, each a button (掉气补气 / 冲正 …).
  const d = e.details ?? {};
  const tx = d.transactionId;
  const recovery = Array.isArray(d.recovery) ? d.recovery : [];
  if (tx && recovery.length) {
    const rec = document.createElement('div');
    rec.className = 'recovery';
    rec.id = 'recovery';
    rec.append(`${t('recoverTitle')} · ${t('tx')} ${tx}: `);
    for (const action of recovery) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.action = action;
      b.textContent = t(action);
      b.addEventListener('click', () =>
        run('recover', () => call('POST', '/v1/station/recover', { transactionId: tx, action })),
      );
      rec.append(b);
    }
    box.append(rec);
  }
}

function receipt(r, op) {
  const b = r.body;
  const lines = [
    t('receiptHead'),
    ...(state.training ? [t('receiptTraining')] : []),
    `${t('time')}: ${new Date().toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB')}`,
    `${t('station')}: ${location.host}`,
    `${t('clerk')}: ${state.clerk}`,
    `${t('operation')}: ${t(op)}`,
    `${t('maker')}: ${b.maker ?? '-'}`,
    `${t('cardNo')}: ${b.cardNo ?? '-'}`,
    `${t('gas')}: ${b.gas ?? '-'}`,
    `${t('count')}: ${b.count ?? '-'}`,
    `${t('tx')}: ${b.transactionId ?? '-'} (${b.state ?? '-'})`,
  ];
  $('receipt-text').textContent = lines.join('\n');
  $('receipt').hidden = false;
}

async function run(op, fn) {
  if (!state.clerk && op !== 'read') {
    showResult(
      {
        ok: false,
        status: 0,
        body: { error: { code: 'STATION_CLERK_REQUIRED', messageZh: t('noClerk'), messageEn: T.en.noClerk } },
      },
      op,
    );
    return null;
  }
  const r = await fn();
  showResult(r, op);
  if (r.ok && r.body.transactionId && op !== 'read') receipt(r, op === 'recover' ? (r.body.operation ?? op) : op);
  if (op !== 'read' && op !== 'recover') await readCard(false);
  return r;
}

async function readCard(report = true) {
  const r = await call('GET', '/v1/station/card');
  if (r.ok) {
    showCard(r.body);
    if (report) $('result').replaceChildren();
  } else {
    $('card').querySelector('tbody').replaceChildren();
    state.lastCard = null;
    if (report) showResult(r, 'read');
  }
}

function connectEvents() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/station/events`);
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'auth', key: state.key })));
  ws.addEventListener('message', (m) => {
    const e = JSON.parse(m.data);
    if (e.type === 'hello') {
      $('ws').className = 'ws on';
      $('ws').textContent = t('wsOn');
      return;
    }
    const li = document.createElement('li');
    li.textContent =
      e.type === 'step' ? `${e.operation} · ${e.step} · ${e.status}` : e.type === 'error' ? e.error.code : e.type;
    $('events').prepend(li);
    if (e.type === 'card.inserted' || e.type === 'card.removed') readCard(false);
  });
  ws.addEventListener('close', () => {
    $('ws').className = 'ws off';
    $('ws').textContent = t('wsOff');
  });
}

function body(op) {
  const gas = Number($('gas').value);
  if (op === 'purchase') return { gas };
  if (op === 'refund' || op === 'format') return {};
  if (op === 'tool') return { maker: $('maker').value, tool: $('tool').value };
  return { maker: $('maker').value, cardNo: $('cardNo').value.trim(), gas, meterKind: Number($('meterKind').value) };
}

function wire() {
  $('training').hidden = !state.training;
  $('sim-panel').hidden = !state.training;
  $('key').value = '';
  $('clerk').value = state.clerk;
  $('lang').addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('meterhub.lang', state.lang);
    applyLang();
  });
  $('save-pair').addEventListener('click', () => {
    const k = $('key').value.trim();
    if (k) {
      state.key = k;
      localStorage.setItem(KEY, k);
      $('key').value = '';
    }
    state.clerk = $('clerk').value.trim();
    sessionStorage.setItem(CLERK, state.clerk);
    showPairState();
    connectEvents();
    readCard(false);
  });
  $('forget').addEventListener('click', () => {
    state.key = '';
    localStorage.removeItem(KEY);
    showPairState();
  });
  $('read').addEventListener('click', () => readCard(true));
  for (const op of ['issue', 'purchase', 'reissue', 'refund', 'format', 'tool']) {
    $(`op-${op}`).addEventListener('click', () => run(op, () => call('POST', `/v1/station/${op}`, body(op))));
  }
  for (const type of ['4442', '102', 'cpu']) {
    $(`sim-${type}`).addEventListener('click', () =>
      run('sim', () => call('POST', '/v1/station/sim/insert', { cardType: type })),
    );
  }
  $('sim-remove').addEventListener('click', () => run('sim', () => call('POST', '/v1/station/sim/remove', {})));
  $('sim-meter').addEventListener('click', () =>
    run('sim', () => call('POST', '/v1/station/sim/meter', { months: [[202510, 1234]] })),
  );
  $('print').addEventListener('click', () => window.print());
  applyLang();
  if (state.key) {
    connectEvents();
    readCard(false);
  }
}

wire();
