/**
 * The billing side of the webhook benchmark in its own process, as a real billing system would be: the gateway
 * process under test does not pay for parsing what it sent. Speaks to the parent over IPC:
 *   parent → { cmd: 'stats' } ; child → { url } once listening, { byKey, duplicates, conflicts, posts } on request.
 */
import { WebhookBilling } from '../gateways/testing/billing.ts';

const billing = new WebhookBilling();
await billing.start();
process.send!({ url: billing.url });
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    process.send!({
      byKey: billing.byKey.size,
      duplicates: billing.duplicates,
      conflicts: billing.conflicts,
      posts: billing.posts,
    });
  } else if (m.cmd === 'close') {
    void billing.close().then(() => process.exit(0));
  }
});
