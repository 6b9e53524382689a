/**
 * 待认领读数 / Quarantine: readings from meter addresses the registry does not know, grouped by address (a whole
 * address is usually one meter registered under a wrong number). Ops assign one reading, or all of an address, to
 * a registered meter (the server checks the target against the registry), or dismiss one with a reason. Every
 * action is a REST call the server audits (/v1/readings/quarantine, core/readings/routes.ts).
 */
import { ReloadOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Empty, Form, Input, Modal, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { METER_ADDRESS_PATTERN } from '../../../core/wire/patterns.ts';
import {
  api,
  ApiError,
  type QuarantineAssignAddressResult,
  type QuarantineAssignResult,
  type QuarantinedReading,
  type QuarantineGroup,
} from '../api.ts';
import { fmtMeterTime, fmtTime } from '../format.ts';
import { useT } from '../i18n.ts';
import { useApiLoad } from '../use-api-load.ts';

const ADDRESS_RE = new RegExp(METER_ADDRESS_PATTERN);

/** What the open dialog acts on: one reading, a whole address, or a dismissal. */
type Action =
  { kind: 'one'; id: string } | { kind: 'address'; from: string; count: number } | { kind: 'dismiss'; id: string };

function HeldReadings({ address, version, onAct }: { address: string; version: number; onAct(a: Action): void }) {
  const { t, lang } = useT();
  const { data, error } = useApiLoad<{ items: QuarantinedReading[] }>(
    `/v1/readings/quarantine?state=held&limit=200&address=${encodeURIComponent(address)}`,
    { refreshKey: version },
  );
  const items = data?.items ?? null;
  if (error) return <Alert type="error" showIcon title={error} />;
  return (
    <Table<QuarantinedReading>
      rowKey="id"
      size="small"
      loading={!items}
      dataSource={items ?? []}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
      onRow={(r) => ({ 'data-qid': r.id }) as object}
      columns={[
        { title: t('q.meterTime'), dataIndex: 'meterTime', render: fmtMeterTime },
        { title: t('rd.cumulative'), dataIndex: 'cumulative', align: 'right', render: (v: string | null) => v ?? '—' },
        { title: t('rd.source'), dataIndex: 'source', render: (s: string) => <Tag>{s}</Tag> },
        { title: t('q.origin'), dataIndex: 'origin', render: (v: string | null) => v ?? '—' },
        {
          title: t('q.received'),
          dataIndex: 'receivedAt',
          render: (v: string) => <Typography.Text type="secondary">{fmtTime(v, lang)}</Typography.Text>,
        },
        {
          title: t('common.actions'),
          key: 'actions',
          render: (_: unknown, r) => (
            <Space>
              <Button
                size="small"
                type="primary"
                data-testid="q-assign"
                onClick={() => onAct({ kind: 'one', id: r.id })}
              >
                {t('q.assign')}
              </Button>
              <Button size="small" danger data-testid="q-dismiss" onClick={() => onAct({ kind: 'dismiss', id: r.id })}>
                {t('q.dismiss')}
              </Button>
            </Space>
          ),
        },
      ]}
    />
  );
}

export function QuarantinePage() {
  const { t, lang } = useT();
  const { message } = App.useApp();
  const [version, setVersion] = useState(0);
  const [action, setAction] = useState<Action | null>(null);
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const { data, error, loading } = useApiLoad<{ groups: QuarantineGroup[] }>(
    '/v1/readings/quarantine/addresses?state=held',
    { refreshKey: version },
  );
  const groups = data?.groups ?? null;

  const open = (a: Action) => {
    setValue('');
    setAction(a);
  };

  const valid = action?.kind === 'dismiss' ? value.trim().length > 0 : ADDRESS_RE.test(value.trim());

  const submit = async () => {
    if (!action || !valid) return;
    setBusy(true);
    try {
      if (action.kind === 'one') {
        const r = await api<QuarantineAssignResult>('POST', `/v1/readings/quarantine/${action.id}/assign`, {
          body: { address: value.trim() },
        });
        message.success(t('q.assigned', { address: r.assignedTo }));
      } else if (action.kind === 'address') {
        const r = await api<QuarantineAssignAddressResult>('POST', '/v1/readings/quarantine/assign-address', {
          body: { from: action.from, to: value.trim() },
        });
        message.success(t('q.assignedMany', { n: r.assigned, address: r.to }));
      } else {
        await api('POST', `/v1/readings/quarantine/${action.id}/dismiss`, { body: { reason: value.trim() } });
        message.success(t('q.dismissed'));
      }
      setAction(null);
      setVersion((v) => v + 1);
    } catch (e) {
      message.error(e instanceof ApiError ? e.text(lang) : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card
      title={t('q.title')}
      extra={
        <Button icon={<ReloadOutlined />} onClick={() => setVersion((v) => v + 1)} loading={loading}>
          {t('common.refresh')}
        </Button>
      }
    >
      <Typography.Paragraph type="secondary">{t('q.intro')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      {groups && !groups.length ? (
        <Empty description={t('q.empty')} />
      ) : (
        <Table<QuarantineGroup>
          rowKey="address"
          loading={!groups}
          dataSource={groups ?? []}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          onRow={(g) => ({ 'data-address': g.address }) as object}
          expandable={{
            expandedRowRender: (g) => <HeldReadings address={g.address} version={version} onAct={open} />,
          }}
          columns={[
            {
              title: t('q.address'),
              dataIndex: 'address',
              render: (a: string) => <Typography.Text code>{a}</Typography.Text>,
            },
            {
              title: t('q.makers'),
              dataIndex: 'makers',
              render: (m: string[]) => m.map((x) => <Tag key={x}>{x}</Tag>),
            },
            {
              title: t('q.count'),
              dataIndex: 'count',
              align: 'right',
              render: (n: number) => <span data-testid="q-count">{n}</span>,
            },
            { title: t('q.first'), dataIndex: 'firstReceivedAt', render: (v: string) => fmtTime(v, lang) },
            { title: t('q.last'), dataIndex: 'lastReceivedAt', render: (v: string) => fmtTime(v, lang) },
            { title: t('q.origin'), dataIndex: 'origins', render: (o: string[]) => o.join(', ') || '—' },
            {
              title: t('common.actions'),
              key: 'actions',
              render: (_: unknown, g) => (
                <Button
                  size="small"
                  data-testid="q-assign-all"
                  onClick={() => open({ kind: 'address', from: g.address, count: g.count })}
                >
                  {t('q.assignAll')}
                </Button>
              ),
            },
          ]}
        />
      )}
      <Modal
        open={action !== null}
        title={
          action?.kind === 'dismiss'
            ? t('q.dismissTitle')
            : action?.kind === 'address'
              ? t('q.assignAllTitle', { n: action.count, address: action.from })
              : t('q.assignTitle')
        }
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        okButtonProps={{ disabled: !valid, loading: busy, 'data-testid': 'q-ok' }}
        onOk={() => void submit()}
        onCancel={() => setAction(null)}
        destroyOnHidden
      >
        <Form layout="vertical">
          <Form.Item
            label={action?.kind === 'dismiss' ? t('q.reason') : t('q.target')}
            extra={action?.kind === 'dismiss' ? undefined : t('q.targetHelp')}
          >
            <Input
              autoFocus
              value={value}
              onChange={(e) => setValue(e.target.value)}
              onPressEnter={() => void submit()}
              data-testid="q-input"
              maxLength={action?.kind === 'dismiss' ? 500 : 32}
            />
          </Form.Item>
          <Typography.Text type="secondary">{t('common.audited')}</Typography.Text>
        </Form>
      </Modal>
    </Card>
  );
}
