import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { DiscoveryAccepted, OAuthCallbackQuery, OAuthConfirmForm, OAuthConfirmQuery, Task, TaskCreate, TaskList, TaskListQuery, TaskOverview, TaskUpdate } from './schemas.ts';
import { taskOverview } from './overview.ts';
import * as service from './service.ts';
import { confirm, confirmationPage } from './oauth-confirm.ts';

const tags = ['tasks'];
const Params = IdParam('task');

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/tasks', {
      config: { permission: 'tasks:create', audit: 'task_created' },
      schema: {
        operationId: 'createTask', tags, summary: 'Create a backup task (connect a Dropbox team)',
        description:
          'Without `refresh_token` the task starts `pending` with an `authorize_url`: a Coffer page that names this account, you and the task; an administrator of the Dropbox team opens it, continues to Dropbox, approves Coffer, and Dropbox redirects that browser to the callback, which connects the task and starts discovery. With `refresh_token` (automation) the task is connected at once.',
        body: ref(TaskCreate), response: { 201: ref(Task) },
      },
    }, async (request, reply) => {
      const { task, version } = await service.createTask(deps, requireCtx(request.ctx), request.body);
      setEtag(reply, version);
      return reply.code(201).header('location', `/v1/tasks/${task.id}`).send(task);
    });

    app.get('/v1/tasks', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'listTasks', tags, summary: 'List backup tasks', querystring: TaskListQuery, response: { 200: ref(TaskList) } },
    }, async (request) => {
      const { state, connection_status, name } = request.query;
      return service.listTasks(deps, requireCtx(request.ctx), pageRequest(request.query), { state, connection_status, name });
    });

    app.get('/v1/tasks/:id', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'getTask', tags, summary: 'Get a backup task', params: Params, response: { 200: ref(Task) } },
    }, async (request, reply) => {
      const { task, version } = await service.getTask(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return task;
    });

    app.patch('/v1/tasks/:id', {
      config: { permission: 'tasks:modify', ifMatch: true, audit: 'task_updated' },
      schema: { operationId: 'updateTask', tags, summary: 'Change a task\'s name and backup settings', params: Params, body: ref(TaskUpdate), response: { 200: ref(Task) } },
    }, async (request, reply) => {
      const { task, version } = await service.updateTask(deps, requireCtx(request.ctx), request.params.id, request.body, expectedVersion(request));
      setEtag(reply, version);
      return task;
    });

    app.delete('/v1/tasks/:id', {
      config: { permission: 'tasks:delete', ifMatch: true, audit: 'task_deleted' },
      schema: {
        operationId: 'deleteTask', tags, summary: 'Delete a backup task (7-day grace period)',
        description: 'The task and its backups are kept for 7 days (`state: deleted`, `purge_time`), during which `POST /v1/tasks/{id}/undelete` restores it; then they are erased.',
        params: Params, response: { 200: ref(Task) },
      },
    }, async (request, reply) => {
      const { task, version } = await service.deleteTask(deps, requireCtx(request.ctx), request.params.id, expectedVersion(request));
      setEtag(reply, version);
      return task;
    });

    app.post('/v1/tasks/:id/undelete', {
      config: { permission: 'tasks:delete', audit: 'task_undeleted' },
      schema: { operationId: 'undeleteTask', tags, summary: 'Bring back a deleted task within its grace period', params: Params, response: { 200: ref(Task) } },
    }, async (request, reply) => {
      const { task, version } = await service.undeleteTask(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return task;
    });

    app.post('/v1/tasks/:id/reconnect', {
      config: { permission: 'tasks:modify', audit: 'task_reconnect_started' },
      schema: {
        operationId: 'reconnectTask', tags, summary: 'Get a new Dropbox authorization URL for a task',
        description: 'For a task whose connection was lost (`disconnected`) or never finished. The task stays as it is until the callback succeeds.',
        params: Params, response: { 200: ref(Task) },
      },
    }, async (request, reply) => {
      const { task, version } = await service.reconnectTask(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return task;
    });

    app.post('/v1/tasks/:id/discover', {
      config: { permission: 'tasks:modify' },
      schema: {
        operationId: 'discoverTask', tags, summary: 'Discover the team\'s users and team folders now',
        description: 'Discovery also runs after connecting and daily.',
        params: Params, response: { 202: ref(DiscoveryAccepted) },
      },
    }, async (request, reply) => reply.code(202).send(await service.requestDiscovery(deps, requireCtx(request.ctx), request.params.id)));

    app.post('/v1/tasks/:id/pause', {
      config: { permission: 'tasks:modify', audit: 'task_paused' },
      schema: {
        operationId: 'pauseTask', tags, summary: 'Pause every backup of a task',
        description: 'Nothing of the task is backed up (scheduled or "back up now") until it is resumed. Each entity keeps its own status underneath and returns to it; an entity paused on its own stays paused. Pausing a paused task changes nothing.',
        params: Params, response: { 200: ref(Task) },
      },
    }, async (request, reply) => {
      const { task, version } = await service.pauseTask(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return task;
    });

    app.post('/v1/tasks/:id/resume', {
      config: { permission: 'tasks:modify', audit: 'task_resumed' },
      schema: {
        operationId: 'resumeTask', tags, summary: 'Resume a paused task',
        description: 'Entities whose backup fell due while the task was paused run at their next slot (see `frequency`), not all at once.',
        params: Params, response: { 200: ref(Task) },
      },
    }, async (request, reply) => {
      const { task, version } = await service.resumeTask(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return task;
    });

    app.get('/v1/tasks/:id/overview', {
      config: { permission: 'tasks:review' },
      schema: {
        operationId: 'getTaskOverview', tags, summary: 'A task at a glance: entities by status, protected data, failures, alerts',
        params: Params, response: { 200: ref(TaskOverview) },
      },
    }, async (request) => taskOverview(deps, requireCtx(request.ctx), request.params.id));

    // The confirmation page's form (HTML forms post url-encoded). Scoped to this plugin.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    const html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });

    app.get('/v1/oauth/dropbox/authorize', {
      config: { public: true },
      schema: {
        operationId: 'confirmDropboxAuthorizationPage', tags, summary: 'Confirmation page before Dropbox (the task\'s authorize_url)',
        description: [
          'An HTML page for the Dropbox team administrator: it names the Coffer account, the user who asked and the task the team would join, and its Continue button leads to Dropbox.',
          'Only the browser that continues from this page can complete the connection (the callback checks a cookie it leaves), so a Dropbox link passed on by someone else connects nothing.',
          '400 `invalid_oauth_state`, 410 `authorization_expired`.',
        ].join(' '),
        querystring: OAuthConfirmQuery,
        response: { 200: html('The confirmation page.') },
      },
    }, async (request, reply) => confirmationPage(deps, reply, request.query.state, new URL(service.dropboxAuthorizeUrl(deps, 'x')).origin));

    app.post('/v1/oauth/dropbox/authorize', {
      config: { public: true },
      schema: {
        operationId: 'confirmDropboxAuthorization', tags, summary: 'Continue from the confirmation page to Dropbox',
        description: 'Posted by the page\'s form only (403 `oauth_confirmation_required` without its CSRF cookie and field); answers 303 to Dropbox\'s authorize URL.',
        consumes: ['application/x-www-form-urlencoded'],
        body: OAuthConfirmForm,
        response: { 303: { description: 'See Other: continue at Dropbox', headers: { location: Type.String() } } },
      },
    }, async (request, reply) => confirm(deps, request, reply, request.body, (state, plan) => service.dropboxAuthorizeUrl(deps, state, plan)));

    app.get('/v1/oauth/dropbox/callback', {
      config: { public: true },
      schema: {
        operationId: 'dropboxOAuthCallback', tags, summary: 'Dropbox OAuth redirect target',
        description: 'Dropbox redirects the approving administrator here with `code` and `state`. Not called by API clients. 403 `oauth_browser_mismatch` unless the same browser continued from the confirmation page.',
        querystring: OAuthCallbackQuery, response: { 200: ref(Task) },
      },
    }, async (request) => service.completeAuthorization(deps, request, request.query));
  };
