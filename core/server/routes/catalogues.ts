/** /v1/makers: the maker plugins and their catalogues (meter return codes, tool cards). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { rolesFor } from '../../auth/roles.ts';
import { STAND_IN_LABEL } from '../../plugins/plugin-host.ts';
import { PluginUnknown } from '../../plugins/plugin-errors.ts';
import type { PluginHost } from '../../plugins/plugin-types.ts';
import { authorize } from '../auth-hooks.ts';
import { errorSchema, maker } from '../../wire/fields.ts';
import { AnyObject } from '../../wire/schema-kit.ts';

const params = Type.Object({ id: maker });

export async function catalogueRoutes(fastify: FastifyInstance, opts: { pluginHost: PluginHost }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const host = opts.pluginHost;
  const tags = ['catalogues'];
  const pre = authorize(rolesFor('catalogues.read'));
  const known = (id: string) => {
    const st = host.get(id);
    if (!st) throw PluginUnknown({ id }, { zh: id, en: id });
    return st;
  };

  app.get(
    '/v1/makers',
    {
      preHandler: pre,
      schema: { tags, summary: '表厂列表 / Makers', response: { 200: AnyObject(), '4xx': errorSchema } },
    },
    async () => ({
      makers: host.list().map((p) => ({
        id: p.id,
        name: p.name,
        cardTypes: p.cardTypes,
        enabled: p.enabled,
        standIn: p.standIn,
        library: p.standIn ? STAND_IN_LABEL : 'real / 厂家正式库',
        libraryFound: p.libraryFound,
        rules: host.manifest(p.id).rules ?? {},
      })),
    }),
  );

  app.get(
    '/v1/makers/:id/return-codes',
    {
      preHandler: pre,
      schema: {
        tags,
        summary: '表上返回码含义 / Meter return codes',
        params,
        response: { 200: AnyObject(), '4xx': errorSchema },
      },
    },
    async (req) => {
      const st = known(req.params.id);
      return { maker: st.id, standIn: st.standIn, returnCodes: host.returnCodes(st.id) };
    },
  );

  app.get(
    '/v1/makers/:id/tool-cards',
    {
      preHandler: pre,
      schema: { tags, summary: '工具卡种类 / Tool cards', params, response: { 200: AnyObject(), '4xx': errorSchema } },
    },
    async (req) => {
      const st = known(req.params.id);
      return { maker: st.id, standIn: st.standIn, toolCards: host.toolCards(st.id) };
    },
  );
}
