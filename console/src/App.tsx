/**
 * The ops console shell: antd locale and theme, sign-in gate, side navigation (hash routes, so a reload keeps
 * the page), language toggle and sign-out.
 */
import {
  ApiOutlined,
  AppstoreOutlined,
  CreditCardOutlined,
  LineChartOutlined,
  InboxOutlined,
  LogoutOutlined,
  TranslationOutlined,
} from '@ant-design/icons';
import {
  App as AntApp,
  Button,
  ConfigProvider,
  Flex,
  Layout,
  Menu,
  Space,
  Tag,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { getToken, setToken, setUnauthorizedHandler } from './api.ts';
import { initialLang, LangContext, rememberLang, translator, type Lang, type StringKey } from './i18n.ts';
import { GatewaysPage } from './pages/Gateways.tsx';
import { LoginPage } from './pages/Login.tsx';
import { PluginsPage } from './pages/Plugins.tsx';
import { QuarantinePage } from './pages/Quarantine.tsx';
import { ReadingsPage } from './pages/Readings.tsx';
import { TransactionsPage } from './pages/Transactions.tsx';

const PAGES = ['plugins', 'transactions', 'gateways', 'readings', 'quarantine'] as const;
type Page = (typeof PAGES)[number];

const NAV: Array<{ key: Page; label: StringKey; icon: ReactNode }> = [
  { key: 'plugins', label: 'nav.plugins', icon: <AppstoreOutlined /> },
  { key: 'transactions', label: 'nav.transactions', icon: <CreditCardOutlined /> },
  { key: 'gateways', label: 'nav.gateways', icon: <ApiOutlined /> },
  { key: 'readings', label: 'nav.readings', icon: <LineChartOutlined /> },
  { key: 'quarantine', label: 'nav.quarantine', icon: <InboxOutlined /> },
];

function pageFromHash(): Page {
  const h = window.location.hash.replace(/^#\/?/, '').split('?')[0] as Page;
  return PAGES.includes(h) ? h : 'plugins';
}

export function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const [token, setTok] = useState<string | null>(getToken);
  const [expired, setExpired] = useState(false);
  const [page, setPage] = useState<Page>(pageFromHash);
  const t = useMemo(() => translator(lang), [lang]);

  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('app.title');
  }, [lang, t]);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const signOut = useCallback((why?: 'expired') => {
    setToken(null);
    setTok(null);
    setExpired(why === 'expired');
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => signOut('expired'));
    return () => setUnauthorizedHandler(null);
  }, [signOut]);

  const toggleLang = () => {
    const next = lang === 'zh' ? 'en' : 'zh';
    rememberLang(next);
    setLang(next);
  };

  const go = (p: Page) => {
    window.location.hash = `#/${p}`;
    setPage(p);
  };

  const langButton = (
    <Button icon={<TranslationOutlined />} onClick={toggleLang} data-testid="lang-toggle">
      {t('lang.toggle')}
    </Button>
  );

  return (
    <ConfigProvider
      locale={lang === 'zh' ? zhCN : enUS}
      theme={{ algorithm: theme.defaultAlgorithm, token: { colorPrimary: '#1677ff' } }}
    >
      <AntApp>
        <LangContext.Provider value={{ lang, t }}>
          {!token ? (
            <LoginPage
              expired={expired}
              langButton={langButton}
              onSignedIn={(tok) => {
                setToken(tok);
                setTok(tok);
                setExpired(false);
              }}
            />
          ) : (
            <Layout style={{ minHeight: '100vh' }}>
              <Layout.Sider breakpoint="lg" collapsedWidth={0} width={208} theme="dark">
                <div style={{ padding: '16px 20px', color: '#fff' }}>
                  <Typography.Text strong style={{ color: '#fff', fontSize: 16 }}>
                    MeterHub
                  </Typography.Text>
                  <div style={{ color: 'rgba(255,255,255,0.65)', fontSize: 12 }}>{t('app.subtitle')}</div>
                </div>
                <Menu
                  theme="dark"
                  mode="inline"
                  selectedKeys={[page]}
                  onClick={(e) => go(e.key as Page)}
                  items={NAV.map((n) => ({
                    key: n.key,
                    icon: n.icon,
                    label: t(n.label),
                    'data-testid': `nav-${n.key}`,
                  }))}
                />
              </Layout.Sider>
              <Layout>
                <Layout.Header style={{ background: '#fff', paddingInline: 24, borderBottom: '1px solid #f0f0f0' }}>
                  <Flex justify="space-between" align="center" style={{ height: '100%' }}>
                    <Typography.Title level={4} style={{ margin: 0 }}>
                      {t('app.title')}
                    </Typography.Title>
                    <Space>
                      <Tag color="blue">ops</Tag>
                      {langButton}
                      <Tooltip title={t('auth.signOut')}>
                        <Button icon={<LogoutOutlined />} onClick={() => signOut()} data-testid="sign-out">
                          {t('auth.signOut')}
                        </Button>
                      </Tooltip>
                    </Space>
                  </Flex>
                </Layout.Header>
                <Layout.Content style={{ padding: 24 }}>
                  {page === 'plugins' && <PluginsPage />}
                  {page === 'transactions' && <TransactionsPage />}
                  {page === 'gateways' && <GatewaysPage />}
                  {page === 'readings' && <ReadingsPage />}
                  {page === 'quarantine' && <QuarantinePage />}
                </Layout.Content>
              </Layout>
            </Layout>
          )}
        </LangContext.Provider>
      </AntApp>
    </ConfigProvider>
  );
}
