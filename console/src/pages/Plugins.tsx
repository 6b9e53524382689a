/**
 * Maker plugins: state, library (real or stand-in), driver health; enable/disable (confirmed, audited through
 * POST /v1/plugins/:id/enable|disable); conformance results of the configured library.
 */
import { CheckCircleOutlined, ExperimentOutlined, ReloadOutlined } from '@ant-design/icons';
import {
  App,
  Alert,
  Badge,
  Button,
  Card,
  Descriptions,
  Drawer,
  Empty,
  InputNumber,
  Result,
  Space,
  Spin,
  Table,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import { useEffect, useState } from 'react';
import { api, ApiError, type ConformanceCheck, type ConformanceResult, type PluginInfo } from '../api.ts';
import { useT, type StringKey } from '../i18n.ts';
import { useApiLoad } from '../use-api-load.ts';
import { fmtDuration, fmtTime } from '../format.ts';

const DRIVER_STATUS: Record<string, 'success' | 'processing' | 'warning' | 'error' | 'default'> = {
  ready: 'success',
  starting: 'processing',
  restarting: 'warning',
  failed: 'error',
  stopped: 'default',
};

export function PluginsPage() {
  const { t, lang } = useT();
  const { modal, message } = App.useApp();
  const [conf, setConf] = useState<PluginInfo | null>(null);
  const { data, error, loading, reload: load } = useApiLoad<{ plugins: PluginInfo[] }>('/v1/plugins');
  const plugins = data?.plugins ?? null;

  const nameOf = (p: PluginInfo) => (lang === 'zh' ? p.name['zh-CN'] : p.name.en);

  const toggle = (p: PluginInfo) => {
    const enabling = !p.enabled;
    modal.confirm({
      title: t(enabling ? 'plugins.confirmEnable' : 'plugins.confirmDisable', { name: nameOf(p) }),
      content: (
        <>
          <p>{t(enabling ? 'plugins.confirmEnableBody' : 'plugins.confirmDisableBody')}</p>
          <Typography.Text type="secondary">{t('common.audited')}</Typography.Text>
        </>
      ),
      okText: t(enabling ? 'plugins.enable' : 'plugins.disable'),
      okButtonProps: { danger: !enabling, 'data-testid': 'confirm-ok' },
      cancelText: t('common.cancel'),
      onOk: async () => {
        try {
          await api('POST', `/v1/plugins/${encodeURIComponent(p.id)}/${enabling ? 'enable' : 'disable'}`);
          message.success(t(enabling ? 'plugins.enabledOk' : 'plugins.disabledOk', { name: nameOf(p) }));
        } catch (e) {
          message.error(e instanceof ApiError ? e.text(lang) : String(e));
        }
        await load();
      },
    });
  };

  return (
    <Card
      title={t('plugins.title')}
      extra={
        <Button icon={<ReloadOutlined />} onClick={() => void load()} loading={loading}>
          {t('common.refresh')}
        </Button>
      }
    >
      <Typography.Paragraph type="secondary">{t('plugins.intro')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      <Table<PluginInfo>
        rowKey="id"
        loading={!plugins && !error}
        dataSource={plugins ?? []}
        pagination={false}
        data-testid="plugins-table"
        onRow={(p) => ({ 'data-plugin': p.id }) as object}
        columns={[
          {
            title: t('plugins.maker'),
            key: 'maker',
            render: (_, p) => (
              <Space orientation="vertical" size={0}>
                <Typography.Text strong>{nameOf(p)}</Typography.Text>
                <Typography.Text type="secondary" code>
                  {p.id}
                </Typography.Text>
              </Space>
            ),
          },
          {
            title: t('plugins.cardTypes'),
            dataIndex: 'cardTypes',
            render: (v: string[]) => v.map((c) => <Tag key={c}>{c}</Tag>),
          },
          {
            title: t('plugins.state'),
            key: 'state',
            render: (_, p) =>
              p.state === 'invalid' ? (
                <Space orientation="vertical" size={2}>
                  <Badge status="error" text={<span data-testid={`state-${p.id}`}>{t('plugins.invalid')}</span>} />
                  {p.error && (
                    <Typography.Text type="danger" style={{ fontSize: 12 }} data-testid={`error-${p.id}`}>
                      {p.error.code}: {lang === 'zh' ? p.error.messageZh : p.error.messageEn}
                    </Typography.Text>
                  )}
                </Space>
              ) : (
                <Badge
                  status={p.enabled ? 'success' : 'default'}
                  text={
                    <span data-testid={`state-${p.id}`}>{t(p.enabled ? 'plugins.enabled' : 'plugins.disabled')}</span>
                  }
                />
              ),
          },
          {
            title: t('plugins.library'),
            key: 'library',
            render: (_, p) => (
              <Space orientation="vertical" size={2}>
                {p.standIn ? (
                  <Tag color="orange">{t('plugins.standIn')}</Tag>
                ) : (
                  <Tag color="green">{t('plugins.real')}</Tag>
                )}
                {!p.libraryFound && <Tag color="red">{t('plugins.libraryMissing')}</Tag>}
                {p.libraryPath && (
                  <Tooltip title={p.libraryPath}>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {p.libraryPath.split(/[\\/]/).pop()}
                    </Typography.Text>
                  </Tooltip>
                )}
              </Space>
            ),
          },
          {
            title: t('plugins.driver'),
            key: 'driver',
            render: (_, p) =>
              p.driver ? (
                <Space orientation="vertical" size={0}>
                  <Badge
                    status={DRIVER_STATUS[p.driver.state] ?? 'default'}
                    text={`${p.driver.state}${p.driver.pid ? ` · pid ${p.driver.pid}` : ''}`}
                  />
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {t('plugins.restarts')} {p.driver.restarts} · {t('plugins.calls')} {p.driver.calls}
                  </Typography.Text>
                </Space>
              ) : (
                <Typography.Text type="secondary">{t('plugins.driverNotStarted')}</Typography.Text>
              ),
          },
          {
            title: t('plugins.lastError'),
            key: 'lastError',
            render: (_, p) =>
              p.driver?.lastError ? (
                <Tooltip title={`${p.driver.lastError.message} · ${fmtTime(p.driver.lastError.at, lang)}`}>
                  <Tag color="red">{p.driver.lastError.code}</Tag>
                </Tooltip>
              ) : (
                <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
              ),
          },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_, p) =>
              p.state === 'invalid' ? null : (
                <Space>
                  <Button
                    size="small"
                    danger={p.enabled}
                    type={p.enabled ? 'default' : 'primary'}
                    onClick={() => toggle(p)}
                    data-testid={`toggle-${p.id}`}
                  >
                    {t(p.enabled ? 'plugins.disable' : 'plugins.enable')}
                  </Button>
                  <Button
                    size="small"
                    icon={<ExperimentOutlined />}
                    onClick={() => setConf(p)}
                    data-testid={`conformance-${p.id}`}
                  >
                    {t('plugins.conformance')}
                  </Button>
                </Space>
              ),
          },
        ]}
      />
      <ConformanceDrawer plugin={conf} name={conf ? nameOf(conf) : ''} onClose={() => setConf(null)} />
    </Card>
  );
}

function ConformanceDrawer(props: { plugin: PluginInfo | null; name: string; onClose(): void }) {
  const { t, lang } = useT();
  const [result, setResult] = useState<ConformanceResult | null>(null);
  const [running, setRunning] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [com, setCom] = useState(1);
  const id = props.plugin?.id;
  const cpu = !!props.plugin?.cardTypes.includes('cpu');

  useEffect(() => {
    setResult(null);
    setError(null);
    if (!id) return;
    setLoading(true);
    api<{ running: boolean; result: ConformanceResult | null }>(
      'GET',
      `/v1/ops/plugins/${encodeURIComponent(id)}/conformance`,
    )
      .then((r) => {
        setResult(r.result);
        setRunning(r.running);
      })
      .catch((e) => setError(e instanceof ApiError ? e.text(lang) : String(e)))
      .finally(() => setLoading(false));
  }, [id, lang]);

  const run = () => {
    if (!id) return;
    setRunning(true);
    setError(null);
    api<{ result: ConformanceResult }>('POST', `/v1/ops/plugins/${encodeURIComponent(id)}/conformance`, {
      body: cpu ? { com } : {},
    })
      .then((r) => setResult(r.result))
      .catch((e) => setError(e instanceof ApiError ? e.text(lang) : String(e)))
      .finally(() => setRunning(false));
  };

  const rep = result?.report;
  return (
    <Drawer
      open={!!props.plugin}
      onClose={props.onClose}
      size={880}
      title={t('plugins.conformanceTitle', { name: props.name })}
      extra={
        <Button
          type="primary"
          icon={<CheckCircleOutlined />}
          loading={running}
          onClick={run}
          data-testid="conformance-run"
        >
          {t(result ? 'plugins.conformanceRerun' : 'plugins.conformanceRun')}
        </Button>
      }
    >
      {props.plugin?.standIn && (
        <Alert type="warning" showIcon title={t('plugins.standIn')} style={{ marginBottom: 16 }} />
      )}
      {cpu && (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 16 }}
          title={
            <Space>
              {t('plugins.com')}
              <InputNumber size="small" min={0} max={255} value={com} onChange={(v) => setCom(v ?? 0)} />
            </Space>
          }
          description={t('plugins.comHelp')}
        />
      )}
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      {running && (
        <Alert
          type="info"
          showIcon
          icon={<Spin size="small" />}
          title={t('plugins.conformanceRunning')}
          style={{ marginBottom: 16 }}
        />
      )}
      {loading ? (
        <Spin />
      ) : !rep ? (
        !running && <Empty description={t('plugins.conformanceNone')} />
      ) : (
        <>
          <Result
            status={rep.passed ? 'success' : 'error'}
            title={
              <span data-testid="conformance-verdict">
                {t(rep.passed ? 'plugins.conformancePassed' : 'plugins.conformanceFailed')}
              </span>
            }
            style={{ padding: '8px 0 16px' }}
          />
          <Descriptions
            size="small"
            bordered
            column={2}
            style={{ marginBottom: 16 }}
            items={[
              {
                key: 'core',
                label: t('plugins.coreConformant'),
                children: (
                  <Tag color={rep.coreConformant ? 'green' : 'red'}>
                    {t(rep.coreConformant ? 'plugins.complete' : 'plugins.incomplete')}
                  </Tag>
                ),
              },
              {
                key: 'ext',
                label: t('plugins.extensions'),
                children: (
                  <Tag color={rep.extensionsComplete ? 'green' : 'gold'}>
                    {t(rep.extensionsComplete ? 'plugins.complete' : 'plugins.incomplete')}
                  </Tag>
                ),
              },
              {
                key: 'types',
                label: t('plugins.checkedTypes'),
                children: rep.cardTypes.map((c) => <Tag key={c}>{c}</Tag>),
              },
              { key: 'fns', label: t('plugins.functions'), children: rep.functions.length },
              {
                key: 'missing',
                label: t('plugins.missing'),
                span: 2,
                children: rep.missing.length
                  ? rep.missing.map((m) => (
                      <Tag key={m} color="gold">
                        {m}
                      </Tag>
                    ))
                  : t('common.none'),
              },
              { key: 'at', label: t('plugins.ranAt'), children: fmtTime(result.finishedAt, lang) },
              { key: 'took', label: t('plugins.duration'), children: fmtDuration(result.durationMs, lang) },
              {
                key: 'lib',
                label: t('plugins.library'),
                span: 2,
                children: (
                  <Typography.Text code style={{ fontSize: 12 }}>
                    {result.library}
                  </Typography.Text>
                ),
              },
            ]}
          />
          <Table<ConformanceCheck>
            rowKey="id"
            size="small"
            dataSource={[...rep.checks].sort((a, b) => Number(a.status === 'pass') - Number(b.status === 'pass'))}
            pagination={{ pageSize: 50, hideOnSinglePage: true }}
            columns={[
              { title: t('plugins.check'), key: 'check', render: (_, c) => (lang === 'zh' ? c.zh : c.en) },
              {
                title: t('plugins.group'),
                dataIndex: 'group',
                width: 90,
                render: (g: 'core' | 'extension') => t(`plugins.group.${g}` as StringKey),
              },
              {
                title: t('plugins.result'),
                dataIndex: 'status',
                width: 90,
                render: (s: ConformanceCheck['status']) => (
                  <Tag color={s === 'pass' ? 'green' : s === 'missing' ? 'gold' : 'red'}>
                    {t(`plugins.status.${s}` as StringKey)}
                  </Tag>
                ),
              },
              { title: t('plugins.finding'), dataIndex: 'finding', width: 130, render: (f?: string) => f ?? '' },
              {
                title: t('plugins.detail'),
                dataIndex: 'detail',
                render: (d?: string) => <Typography.Text style={{ fontSize: 12 }}>{d ?? ''}</Typography.Text>,
              },
            ]}
          />
        </>
      )}
    </Drawer>
  );
}
