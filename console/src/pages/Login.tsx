/** Sign-in with an ops token: checked against an ops-only route before it is kept for this tab. */
import { KeyOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Flex, Form, Input, Typography } from 'antd';
import { useState, type ReactNode } from 'react';
import { api, ApiError } from '../api.ts';
import { useT } from '../i18n.ts';

export function LoginPage(props: { expired: boolean; langButton: ReactNode; onSignedIn(token: string): void }) {
  const { t, lang } = useT();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (v: { token: string }) => {
    const token = v.token.trim();
    setBusy(true);
    setError(null);
    try {
      await api('GET', '/v1/ops/transactions?limit=1', { token });
      props.onSignedIn(token);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setError(t('auth.invalid'));
      else if (e instanceof ApiError && e.status === 403) setError(t('auth.notOps'));
      else setError(e instanceof ApiError ? e.text(lang) : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Flex justify="center" align="center" style={{ minHeight: '100vh', background: '#f5f5f5' }}>
      <Card style={{ width: 440 }} title={t('app.title')} extra={props.langButton}>
        <Typography.Paragraph type="secondary">{t('app.subtitle')}</Typography.Paragraph>
        {props.expired && <Alert type="warning" showIcon title={t('auth.expired')} style={{ marginBottom: 16 }} />}
        {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="login-error" />}
        <Form layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item
            name="token"
            label={t('auth.token')}
            extra={t('auth.tokenHelp')}
            rules={[{ required: true, whitespace: true, message: t('auth.tokenRequired') }]}
          >
            <Input.Password prefix={<KeyOutlined />} autoComplete="off" data-testid="token-input" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy} data-testid="sign-in">
            {t('auth.signIn')}
          </Button>
        </Form>
      </Card>
    </Flex>
  );
}
