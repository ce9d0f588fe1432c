// A verification (restore drill, workers/recovery/verify.ts) finished: webhook `verification.finished`
// every time; when it failed, also a smart alert (activity entry, audit entry, `smart_alert.raised`,
// a smart-alerts mail) and an exceptions mail listing the files that would not restore. Idempotent
// per verification (notification_log key `verification:<id>`), never throws into the worker: the
// same rules as triggers.ts.
import { eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { activityEvents, entities, tasks, verifications } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { emitEvent } from '../webhooks/service.ts';
import { audit } from '../audit/service.ts';
import { claim, guarded, mailRecipients, skip, type TriggerResult } from './triggers.ts';

export async function notifyVerificationFinished(deps: AppDeps, verification: { id: string }): Promise<TriggerResult> {
  return guarded(deps, 'notifyVerificationFinished', async () => {
    const [v] = await deps.db.select().from(verifications).where(eq(verifications.id, verification.id));
    if (!v) return skip('no such verification');
    if (v.state !== 'succeeded' && v.state !== 'failed') return skip('the verification has not finished');
    const [entity] = await deps.db.select({ name: entities.name }).from(entities).where(eq(entities.id, v.entityId));
    const [task] = await deps.db.select({ name: tasks.name }).from(tasks).where(eq(tasks.id, v.taskId));
    const name = entity?.name ?? v.entityId;
    const payload = {
      verification_id: v.id, state: v.state, task_id: v.taskId, task_name: task?.name ?? null, entity_id: v.entityId, entity_name: entity?.name ?? null,
      snapshot_id: v.snapshotId, files_checked: v.filesChecked, files_failed: v.filesFailed, blocks_checked: v.blocksChecked, bytes_checked: v.bytesChecked,
      failures: v.failures.slice(0, 20), error: v.error, finished_at: v.finishedAt?.toISOString() ?? null,
    };
    const failed = v.state === 'failed';
    const description = v.error
      ? `Restore drill of ${name} could not finish: ${v.error}`
      : `Restore drill failed: ${v.filesFailed} of ${v.filesChecked} files checked in ${name} would not restore from snapshot ${v.snapshotId}.`;

    const webhookEvents = await deps.db.transaction(async (tx) => {
      if (!(await claim(deps, tx, v.accountId, `verification:${v.id}`))) return null;
      const sent = ['verification.finished'];
      await emitEvent(deps, tx, v.accountId, 'verification.finished', payload);
      if (failed) {
        const alertId = newId('evt');
        const alert = { kind: 'verification_failed', verification_id: v.id, files_failed: v.filesFailed, files_checked: v.filesChecked };
        await tx.insert(activityEvents).values({
          id: alertId, accountId: v.accountId, type: 'smart_alert', status: 'failed', taskId: v.taskId, taskName: task?.name ?? null,
          entityId: v.entityId, item: entity?.name ?? null, description, counts: { count: v.filesFailed, base: v.filesChecked },
          details: alert, occurredAt: deps.clock.now(),
        });
        await audit(deps, v.accountId, {
          type: 'smart_alert', description, service: 'dropbox', task: task?.name ?? null,
          details: { ...alert, entity_id: v.entityId, activity_event_id: alertId }, performedBy: null, ip: null, userAgent: null,
        }, tx);
        await emitEvent(deps, tx, v.accountId, 'smart_alert.raised', { alert_id: alertId, ...payload, alert });
        sent.push('smart_alert.raised');
      }
      return sent;
    });
    if (!webhookEvents) return skip('already notified');
    if (!failed) return { notified: true, mails: 0, webhookEvents };

    const rows = v.failures.slice(0, 20).map((f) => [f.path, f.kind.replace(/_/g, ' '), f.block_hash ?? '', f.pack_id ?? '']);
    let mails = await mailRecipients(deps, v.accountId, 'exceptions', {
      subject: `Restore drill failed: ${name}${task ? ` (${task.name})` : ''}`,
      heading: 'Restore drill failed',
      paragraphs: [
        description,
        'The backed-up copies of these files could not be read back intact. Back up the entity again (POST /v1/entities/{id}/backup) so the next snapshot stores them afresh, and check the storage that holds the backups.',
      ],
      table: rows.length ? { columns: ['Path', 'Problem', 'Block', 'Pack'], rows } : undefined,
    });
    mails += await mailRecipients(deps, v.accountId, 'smart_alerts', {
      subject: `Smart alert: backups of ${name} failed a restore drill`,
      heading: 'Smart alert: restore drill failed',
      paragraphs: [description, `Verification ${v.id} has the details and a signed summary.`],
    });
    return { notified: true, mails, webhookEvents };
  });
}
