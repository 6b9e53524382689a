/**
 * Card transactions: search by card number, maker and state; unconfirmed and failed writes first, with the
 * step that may follow. Rewrite (掉气补气) and reverse (冲正) are confirmed, then sent through the audited
 * POST /v1/transactions/:id/rewrite|reverse with a fresh Idempotency-Key.
 */
import { ReloadOutlined, SearchOutlined } from '@ant-design/icons';
import { App, Alert, Button, Card, Form, Input, Select, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, type OpsTx, type PluginInfo } from '../api.ts';
import { useT, type StringKey } from '../i18n.ts';
import { fmtTime } from '../format.ts';
import { MENU_STATES, STATES as TX_STATE_RULES, TX_STATES } from '../../../core/wire/tx-states.ts';
import { CARD_NO_SEARCH_PATTERN } from '../../../core/wire/patterns.ts';

/** States, their filter order and colours: the ledger's state machine table (core/wire/tx-states.ts). */
const STATES = MENU_STATES;
const STATE_COLOR: Record<string, string> = Object.fromEntries(TX_STATES.map((s) => [s, TX_STATE_RULES[s].color]));

interface Filters {
  cardNo?: string;
  maker?: string;
  state?: string[];
}

export function TransactionsPage() {
  const { t, lang } = useT();
  const { modal, message, notification } = App.useApp();
  const [form] = Form.useForm<Filters>();
  const [filters, setFilters] = useState<Filters>({});
  const [rows, setRows] = useState<OpsTx[] | null>(null);
  const [attention, setAttention] = useState(0);
  const [makers, setMakers] = useState<PluginInfo[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<{ plugins: PluginInfo[] }>('GET', '/v1/plugins').then(
      (r) => setMakers(r.plugins),
      () => undefined,
    );
  }, []);

  const load = useCallback(
    async (f: Filters) => {
      setLoading(true);
      const q = new URLSearchParams();
      if (f.cardNo?.trim()) q.set('cardNo', f.cardNo.trim());
      if (f.maker) q.set('maker', f.maker);
      if (f.state?.length) q.set('state', f.state.join(','));
      q.set('limit', '200');
      try {
        const r = await api<{ transactions: OpsTx[]; attention: number }>('GET', `/v1/ops/transactions?${q}`);
        setRows(r.transactions);
        setAttention(r.attention);
        setError(null);
      } catch (e) {
        setError(e instanceof ApiError ? e.text(lang) : String(e));
      } finally {
        setLoading(false);
      }
    },
    [lang],
  );

  useEffect(() => {
    void load(filters);
  }, [load, filters]);

  const act = (tx: OpsTx, action: 'rewrite' | 'reverse') => {
    modal.confirm({
      title: t(action === 'rewrite' ? 'tx.confirmRewriteTitle' : 'tx.confirmReverseTitle', { id: tx.transactionId }),
      width: 520,
      content: (
        <>
          <p>{t(action === 'rewrite' ? 'tx.confirmRewriteBody' : 'tx.confirmReverseBody')}</p>
          <p>
            <Tag>{tx.maker}</Tag> {t('tx.cardNo')} <Typography.Text code>{tx.cardNo ?? '—'}</Typography.Text>{' '}
            {t('tx.gas')} {tx.gas ?? '—'} · {t('tx.count')} {tx.count ?? '—'}
          </p>
          <Typography.Text type="secondary">{t('common.audited')}</Typography.Text>
        </>
      ),
      okText: t(action === 'rewrite' ? 'tx.rewrite' : 'tx.reverse'),
      okButtonProps: { danger: action === 'reverse', 'data-testid': 'confirm-ok' },
      cancelText: t('common.cancel'),
      onOk: async () => {
        try {
          // The rewrite answer carries card data and keys for the station: the console never shows them.
          const r = await api<{ transactionId: string }>(
            'POST',
            `/v1/transactions/${encodeURIComponent(tx.transactionId)}/${action}`,
            { body: {}, idempotent: true },
          );
          if (action === 'rewrite')
            notification.success({ title: t('tx.rewriteOk', { id: r.transactionId }), duration: 8 });
          else message.success(t('tx.reverseOk', { id: tx.transactionId }));
        } catch (e) {
          message.error(e instanceof ApiError ? e.text(lang) : String(e));
        }
        await load(filters);
      },
    });
  };

  const opName = (op: string) => {
    const k = `tx.op.${op}` as StringKey;
    const s = t(k);
    return s === k ? op : s;
  };

  return (
    <Card
      title={t('tx.title')}
      extra={
        <Button icon={<ReloadOutlined />} onClick={() => void load(filters)} loading={loading}>
          {t('common.refresh')}
        </Button>
      }
    >
      <Typography.Paragraph type="secondary">{t('tx.intro')}</Typography.Paragraph>
      <Form form={form} layout="inline" onFinish={(v) => setFilters({ ...v })} style={{ marginBottom: 16, rowGap: 8 }}>
        <Form.Item
          name="cardNo"
          label={t('tx.cardNo')}
          rules={[{ pattern: new RegExp(CARD_NO_SEARCH_PATTERN), message: '0-9 A-Z' }]}
        >
          <Input allowClear style={{ width: 180 }} data-testid="tx-cardno" />
        </Form.Item>
        <Form.Item name="maker" label={t('tx.maker')}>
          <Select
            allowClear
            placeholder={t('tx.anyMaker')}
            style={{ width: 160 }}
            options={makers.map((m) => ({ value: m.id, label: lang === 'zh' ? m.name['zh-CN'] : m.name.en }))}
          />
        </Form.Item>
        <Form.Item name="state" label={t('tx.state')}>
          <Select
            mode="multiple"
            allowClear
            placeholder={t('tx.anyState')}
            style={{ minWidth: 200 }}
            options={STATES.map((s) => ({ value: s, label: `${t(`tx.st.${s}` as StringKey)} ${s}` }))}
          />
        </Form.Item>
        <Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="tx-search">
              {t('common.search')}
            </Button>
            <Button
              onClick={() => {
                form.resetFields();
                setFilters({});
              }}
            >
              {t('common.reset')}
            </Button>
          </Space>
        </Form.Item>
      </Form>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      {rows && (
        <Alert
          type={attention ? 'warning' : 'success'}
          showIcon
          title={attention ? t('tx.attention', { n: attention }) : t('tx.noAttention')}
          style={{ marginBottom: 16 }}
          data-testid="tx-attention"
        />
      )}
      <Table<OpsTx>
        rowKey="transactionId"
        size="middle"
        loading={loading}
        dataSource={rows ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: 1400 }}
        onRow={(r) =>
          ({
            'data-tx': r.transactionId,
            style: r.needsAttention ? { background: r.state === 'FAILED' ? '#fff1f0' : '#fffbe6' } : {},
          }) as object
        }
        columns={[
          {
            title: t('tx.state'),
            dataIndex: 'state',
            width: 120,
            fixed: 'left',
            render: (s: string) => (
              <Tooltip title={s}>
                <Tag color={STATE_COLOR[s]} data-testid="tx-state">
                  {t(`tx.st.${s}` as StringKey)}
                </Tag>
              </Tooltip>
            ),
          },
          {
            title: t('tx.id'),
            dataIndex: 'transactionId',
            width: 150,
            render: (id: string) => (
              <Typography.Text code copyable style={{ fontSize: 12 }}>
                {id}
              </Typography.Text>
            ),
          },
          { title: t('tx.operation'), dataIndex: 'operation', width: 100, render: opName },
          { title: t('tx.maker'), dataIndex: 'maker', width: 100 },
          { title: t('tx.cardNo'), dataIndex: 'cardNo', width: 120, render: (c: string | null) => c ?? '—' },
          { title: t('tx.gas'), dataIndex: 'gas', width: 70, align: 'right', render: (g: number | null) => g ?? '—' },
          {
            title: t('tx.count'),
            dataIndex: 'count',
            width: 70,
            align: 'right',
            render: (c: number | null) => c ?? '—',
          },
          {
            title: t('tx.actor'),
            key: 'actor',
            width: 200,
            render: (_, r) => (
              <span>
                {r.clerk ? `${r.clerk} · ` : ''}
                {r.actor.name} <Typography.Text type="secondary">({r.actor.channel})</Typography.Text>
              </span>
            ),
          },
          { title: t('tx.createdAt'), dataIndex: 'createdAt', width: 170, render: (v: string) => fmtTime(v, lang) },
          {
            title: t('tx.error'),
            key: 'error',
            width: 160,
            render: (_, r) =>
              r.error ? (
                <Tooltip title={r.error.message}>
                  <Tag color={r.state === 'FAILED' ? 'red' : 'default'}>{r.error.code}</Tag>
                </Tooltip>
              ) : null,
          },
          {
            title: t('tx.nextSteps'),
            key: 'next',
            width: 300,
            fixed: 'right',
            render: (_, r) => (
              <Space wrap size={4}>
                {r.nextSteps.map((s) => {
                  if (s.action === 'rewrite')
                    return (
                      <Button
                        key="rw"
                        size="small"
                        type="primary"
                        onClick={() => act(r, 'rewrite')}
                        data-testid={`rewrite-${r.transactionId}`}
                      >
                        {t('tx.rewrite')}
                      </Button>
                    );
                  if (s.action === 'reverse')
                    return (
                      <Button
                        key="rv"
                        size="small"
                        danger
                        onClick={() => act(r, 'reverse')}
                        data-testid={`reverse-${r.transactionId}`}
                      >
                        {t('tx.reverse')}
                      </Button>
                    );
                  if (s.action === 'confirm') return <Tag key="cf">{t('tx.confirmAtStation')}</Tag>;
                  if (s.action === 'confirm-rewrite')
                    return (
                      <Tag key="cr" color="blue">
                        {t('tx.confirmRewrite', { id: s.transactionId ?? '' })}
                      </Tag>
                    );
                  return <Tag key="ci">{t('tx.cancelReissue')}</Tag>;
                })}
              </Space>
            ),
          },
        ]}
      />
    </Card>
  );
}
