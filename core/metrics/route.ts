/** GET /metrics: Prometheus text exposition, for ops tokens, the scrape token or allow-listed addresses. */
import type { FastifyInstance } from 'fastify';
import type { MetricsAccess } from './access.ts';
import type { MeterHubMetrics } from './metrics.ts';

export async function metricsRoute(
  app: FastifyInstance,
  opts: { metrics: MeterHubMetrics; access: MetricsAccess },
): Promise<void> {
  app.get(
    '/metrics',
    {
      preHandler: async (req) => opts.access.check(req),
      schema: {
        tags: ['ops'],
        summary: 'Prometheus 指标 / Prometheus metrics',
        description:
          'Text exposition format 0.0.4. Needs an ops token, the scrape token (METERHUB_METRICS_TOKEN) or an address in METERHUB_METRICS_ALLOW.',
      },
    },
    async (_req, reply) => {
      const text = await opts.metrics.render();
      reply.header('content-type', opts.metrics.contentType);
      reply.header('cache-control', 'no-store');
      return text;
    },
  );
}
