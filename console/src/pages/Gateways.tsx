/**
 * Gateways and billing: serial buses and their meters (last read, timeouts, backoff), the MQTT session and
 * its durable outbound queue, and every billing sink (backlog, lag, dead letters). Dead letters are replayed
 * through the audited POST /v1/readings/dead-letters/replay.
 */
import { ReloadOutlined } from '@ant-design/icons';
import {
  App,
  Alert,
  Badge,
  Button,
  Card,
  Col,
  Descriptions,
  Drawer,
  Empty,
  Row,
  Space,
  Statistic,
  Switch,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, type DeadLetter, type GatewayView, type MeterStats, type SinkStats } from '../api.ts';
import { useT } from '../i18n.ts';
import { useApiLoad } from '../use-api-load.ts';
import { fmtDuration, fmtMeterTime, fmtTime } from '../format.ts';

const METER_COLOR: Record<string, string> = { ok: 'green', suspect: 'red', unknown: 'default' };

export function GatewaysPage() {
  const { t, lang } = useT();
  const [auto, setAuto] = useState(true);
  const [deadSink, setDeadSink] = useState<string | null>(null);
  const {
    data: view,
    error,
    loading,
    reload: load,
  } = useApiLoad<GatewayView>('/v1/ops/gateway', {
    refreshMs: auto ? 5000 : undefined,
  });

  const msg = view?.message
    ? 'zh' in view.message
      ? lang === 'zh'
        ? view.message.zh
        : view.message.en
      : lang === 'zh'
        ? view.message['zh-CN']
        : view.message.en
    : '';

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <Card
        title={
          <span>
            {t('gw.title')}
            {view?.gatewayId && (
              <Tag style={{ marginLeft: 8 }}>
                {view.gatewayId} · {view.profile}
              </Tag>
            )}
          </span>
        }
        extra={
          <Space>
            <span>{t('common.autoRefresh')}</span>
            <Switch size="small" checked={auto} onChange={setAuto} />
            <Button icon={<ReloadOutlined />} onClick={() => void load()} loading={loading}>
              {t('common.refresh')}
            </Button>
          </Space>
        }
      >
        {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
        {view && !view.inProcess && (
          <Alert
            type="info"
            showIcon
            title={t('gw.notInProcess')}
            description={msg}
            style={{ marginBottom: 16 }}
            data-testid="gw-not-in-process"
          />
        )}
        {view && (
          <Row gutter={16}>
            <Col span={6}>
              <Statistic title={t('gw.submitted')} value={view.pipeline.submitted} />
            </Col>
            <Col span={6}>
              <Statistic title={t('gw.inserted')} value={view.pipeline.inserted} />
            </Col>
            <Col span={6}>
              <Statistic title={t('gw.duplicates')} value={view.pipeline.duplicates} />
            </Col>
            <Col span={6}>
              <Statistic title={t('gw.rejected')} value={view.pipeline.rejected} />
            </Col>
          </Row>
        )}
        {!!view?.recentErrors?.length && (
          <Alert
            type="warning"
            showIcon
            style={{ marginTop: 16 }}
            title={t('gw.recentErrors')}
            description={
              <ul style={{ margin: 0, paddingLeft: 18 }}>
                {view.recentErrors.map((e, i) => (
                  <li key={i}>
                    <Typography.Text style={{ fontSize: 12 }}>{e}</Typography.Text>
                  </li>
                ))}
              </ul>
            }
          />
        )}
      </Card>

      <Card title={t('gw.sinks')}>
        <SinksTable sinks={view?.sinks ?? []} onDead={setDeadSink} loading={!view && !error} />
      </Card>

      {view?.inProcess && (
        <>
          <Card title={t('gw.buses')}>
            {view.buses?.length ? (
              view.buses.map((b) => (
                <Card
                  key={b.path}
                  type="inner"
                  size="small"
                  style={{ marginBottom: 12 }}
                  title={
                    <Space>
                      <Typography.Text code>{b.path}</Typography.Text>
                      <Badge status={b.open ? 'success' : 'error'} text={t(b.open ? 'gw.open' : 'gw.closed')} />
                      <Tag>{b.baudRate} bps</Tag>
                    </Space>
                  }
                >
                  <MetersTable meters={b.meters} />
                </Card>
              ))
            ) : (
              <Empty description={t('gw.noBuses')} />
            )}
          </Card>
          <Card title={t('gw.mqtt')}>
            {view.mqtt ? (
              <Descriptions
                size="small"
                bordered
                column={3}
                items={[
                  {
                    key: 'state',
                    label: t('gw.connected'),
                    children: (
                      <Badge
                        status={view.mqtt.connected ? 'success' : 'error'}
                        text={t(view.mqtt.connected ? 'gw.connected' : 'gw.disconnected')}
                      />
                    ),
                  },
                  {
                    key: 'url',
                    label: t('gw.broker'),
                    children: <Typography.Text code>{view.mqtt.url}</Typography.Text>,
                  },
                  { key: 'queue', label: t('gw.outbound'), children: view.mqtt.outboundBacklog },
                  { key: 'dev', label: t('gw.devices'), children: view.mqtt.devices },
                  { key: 'up', label: t('gw.uplinks'), children: view.mqtt.counters?.uplinks ?? 0 },
                  { key: 'rd', label: t('gw.readings'), children: view.mqtt.counters?.readings ?? 0 },
                  { key: 'bad', label: t('gw.badPayloads'), children: view.mqtt.counters?.badPayloads ?? 0 },
                  { key: 'conn', label: t('gw.connects'), children: view.mqtt.counters?.connects ?? 0 },
                ]}
              />
            ) : (
              <Empty description={t('gw.noMqtt')} />
            )}
          </Card>
        </>
      )}
      <DeadLetters
        sink={deadSink}
        onClose={() => {
          setDeadSink(null);
          void load();
        }}
      />
    </Space>
  );
}

function SinksTable(props: { sinks: SinkStats[]; loading: boolean; onDead(sink: string): void }) {
  const { t, lang } = useT();
  return (
    <Table<SinkStats>
      rowKey="sink"
      size="small"
      loading={props.loading}
      dataSource={props.sinks}
      pagination={false}
      onRow={(s) => ({ 'data-sink': s.sink }) as object}
      columns={[
        {
          title: t('gw.sink'),
          dataIndex: 'sink',
          render: (s: string) => <Typography.Text strong>{s}</Typography.Text>,
        },
        { title: t('gw.backlog'), dataIndex: 'backlog', align: 'right' },
        { title: t('gw.inFlight'), dataIndex: 'inFlight', align: 'right' },
        {
          title: t('gw.lag'),
          dataIndex: 'lagMs',
          align: 'right',
          render: (ms: number) => (
            <Tag color={ms > 60_000 ? 'red' : ms > 5_000 ? 'gold' : 'green'}>{fmtDuration(ms, lang)}</Tag>
          ),
        },
        {
          title: t('gw.deadLetters'),
          dataIndex: 'deadLetters',
          align: 'right',
          render: (n: number) => (
            <Tag color={n ? 'red' : 'default'} data-testid="dead-count">
              {n}
            </Tag>
          ),
        },
        { title: t('gw.delivered'), dataIndex: 'deliveredTotal', align: 'right' },
        {
          title: t('gw.lastDelivered'),
          dataIndex: 'lastDeliveredAt',
          render: (v: number | null) => (v ? fmtTime(v, lang) : t('common.never')),
        },
        {
          title: t('gw.consumerBacklog'),
          dataIndex: 'consumerBacklog',
          align: 'right',
          // One tag per billing consumer: its own cursor and what it has not pulled yet.
          render: (v: number | undefined, s) =>
            s.consumers?.length
              ? s.consumers.map((c) => (
                  <Tag key={c.consumer} data-consumer={c.consumer} title={`cursor ${c.cursor}`}>
                    {(c.tokenName ?? c.consumer) +
                      (c.consumer.includes('/') ? c.consumer.slice(c.consumer.indexOf('/')) : '')}
                    : {c.backlog}
                  </Tag>
                ))
              : v === undefined
                ? '—'
                : v,
        },
        {
          title: t('common.actions'),
          key: 'a',
          render: (_, s) => (
            <Button
              size="small"
              onClick={() => props.onDead(s.sink)}
              danger={s.deadLetters > 0}
              data-testid={`dead-${s.sink}`}
            >
              {t('gw.showDead')}
            </Button>
          ),
        },
      ]}
    />
  );
}

function MetersTable(props: { meters: MeterStats[] }) {
  const { t, lang } = useT();
  return (
    <Table<MeterStats>
      rowKey="address"
      size="small"
      dataSource={props.meters}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
      columns={[
        {
          title: t('gw.meter'),
          dataIndex: 'address',
          render: (a: string) => <Typography.Text code>{a}</Typography.Text>,
        },
        {
          title: t('gw.meterState'),
          dataIndex: 'state',
          render: (s: string) => <Tag color={METER_COLOR[s] ?? 'default'}>{s}</Tag>,
        },
        {
          title: t('gw.lastRead'),
          dataIndex: 'lastReadAt',
          render: (v: string | null) => (v ? fmtTime(v, lang) : t('common.never')),
        },
        { title: t('gw.successes'), dataIndex: 'successes', align: 'right' },
        {
          title: t('gw.timeouts'),
          dataIndex: 'timeouts',
          align: 'right',
          render: (n: number) => (n ? <Typography.Text type="warning">{n}</Typography.Text> : n),
        },
        {
          title: t('gw.failures'),
          dataIndex: 'consecutiveFailures',
          align: 'right',
          render: (n: number) => (n ? <Typography.Text type="danger">{n}</Typography.Text> : n),
        },
        {
          title: t('gw.backoff'),
          dataIndex: 'nextCycle',
          align: 'right',
          render: (n: number, m) => (m.consecutiveFailures ? n : '—'),
        },
        { title: t('gw.badFrames'), dataIndex: 'badFrames', align: 'right' },
      ]}
    />
  );
}

function DeadLetters(props: { sink: string | null; onClose(): void }) {
  const { t, lang } = useT();
  const { modal, message } = App.useApp();
  const [rows, setRows] = useState<DeadLetter[] | null>(null);
  const [selected, setSelected] = useState<number[]>([]);
  const [error, setError] = useState<string | null>(null);
  const sink = props.sink;

  const load = useCallback(async () => {
    if (!sink) return;
    try {
      const r = await api<{ deadLetters: DeadLetter[] }>(
        'GET',
        `/v1/readings/dead-letters?sink=${encodeURIComponent(sink)}&limit=1000`,
      );
      setRows(r.deadLetters);
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.text(lang) : String(e));
    }
  }, [sink, lang]);

  useEffect(() => {
    setRows(null);
    setSelected([]);
    void load();
  }, [load]);

  const replay = (ids?: number[]) => {
    if (!sink) return;
    modal.confirm({
      title: ids ? t('gw.confirmReplay', { n: ids.length, sink }) : t('gw.confirmReplayAll', { sink }),
      content: <Typography.Text type="secondary">{t('common.audited')}</Typography.Text>,
      okText: ids ? t('gw.replaySelected', { n: ids.length }) : t('gw.replayAll'),
      okButtonProps: { 'data-testid': 'confirm-ok' },
      cancelText: t('common.cancel'),
      onOk: async () => {
        try {
          const r = await api<{ replayed: number }>('POST', '/v1/readings/dead-letters/replay', {
            body: ids ? { sink, ids } : { sink },
          });
          message.success(t('gw.replayed', { n: r.replayed }));
          setSelected([]);
        } catch (e) {
          message.error(e instanceof ApiError ? e.text(lang) : String(e));
        }
        await load();
      },
    });
  };

  return (
    <Drawer
      open={!!sink}
      onClose={props.onClose}
      size={960}
      title={t('gw.deadTitle', { sink: sink ?? '' })}
      extra={
        <Space>
          <Button disabled={!selected.length} onClick={() => replay(selected)} data-testid="replay-selected">
            {t('gw.replaySelected', { n: selected.length })}
          </Button>
          <Button type="primary" disabled={!rows?.length} onClick={() => replay()} data-testid="replay-all">
            {t('gw.replayAll')}
          </Button>
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t('gw.deadIntro')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      <Table<DeadLetter>
        rowKey="id"
        size="small"
        loading={!rows && !error}
        dataSource={rows ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        rowSelection={{ selectedRowKeys: selected, onChange: (keys) => setSelected(keys as number[]) }}
        onRow={(d) => ({ 'data-dead': d.readingId }) as object}
        columns={[
          {
            title: t('gw.meter'),
            dataIndex: 'meterId',
            render: (m: string | null) => <Typography.Text code>{m ?? '—'}</Typography.Text>,
          },
          { title: t('gw.meterTime'), dataIndex: 'meterTime', render: fmtMeterTime },
          {
            title: t('gw.readingId'),
            dataIndex: 'readingId',
            render: (id: string) => (
              <Typography.Text style={{ fontSize: 12 }} copyable>
                {id}
              </Typography.Text>
            ),
          },
          { title: t('gw.attempts'), dataIndex: 'attempts', align: 'right' },
          {
            title: t('gw.lastError'),
            dataIndex: 'lastError',
            render: (e: string | null) => (e ? <Tag color="red">{e}</Tag> : ''),
          },
          { title: t('gw.deadAt'), dataIndex: 'deadAt', render: (v: number | null) => fmtTime(v, lang) },
        ]}
      />
    </Drawer>
  );
}
