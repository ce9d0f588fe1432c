import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp, ref } from '../../schemas/common.ts';

export const SnapshotCounts = Type.Object(
  {
    new: Type.Integer({ description: 'Files and folders that appeared.' }),
    changed: Type.Integer({ description: 'Files whose content changed.' }),
    deleted: Type.Integer({ description: 'Files and folders that disappeared.' }),
    failed: Type.Integer({ description: 'Files that could not be backed up (see `errors`).' }),
    unchanged: Type.Integer({ description: 'Items a full listing saw unchanged (0 for incremental runs).' }),
    downloaded: Type.Integer({ description: 'Files whose content had to be downloaded (the rest was already stored).' }),
  },
  { $id: 'SnapshotCounts', additionalProperties: false },
);

export const SnapshotError = Type.Object(
  { path: Type.String(), error: Type.String() },
  { $id: 'SnapshotError', additionalProperties: false },
);

export const Snapshot = Type.Object(
  {
    id: Type.String({ description: 'The backup run that made this snapshot (`run_…`).' }),
    entity_id: Type.String(),
    task_id: Type.String(),
    time: Timestamp('When the backup started: the snapshot shows the entity as listed from then on.'),
    finished_at: NullableTimestamp(),
    search_indexed_at: NullableTimestamp('When item search (GET /v1/items) started finding this snapshot\'s files (names, paths and, when the task indexes data, text); null while the index, built after each backup, has not covered it yet.'),
    outcome: Type.Enum(['succeeded', 'partial'], { description: '`partial`: some files failed; they are listed in `errors` and kept at their previous version.' }),
    reason: Type.String({ description: '`scheduled` or `manual`.' }),
    items: Type.Integer({ description: 'Files and folders in the snapshot.' }),
    size_bytes: Type.Integer({ description: 'Total size of the files in the snapshot.' }),
    bytes_downloaded: Type.Integer(),
    bytes_stored: Type.Integer({ description: 'New storage this backup used (compressed, encrypted, deduplicated).' }),
    counts: ref(SnapshotCounts),
    errors: Type.Array(ref(SnapshotError), { description: 'The first 100 failed items.' }),
  },
  { $id: 'Snapshot', additionalProperties: false },
);
export type Snapshot = Static<typeof Snapshot>;

export const SnapshotList = Page(Snapshot, 'SnapshotList');

export const SnapshotListQuery = Type.Object(
  {
    ...PageQuery,
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Only snapshots taken at or after this time.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Only snapshots taken before this time.' })),
  },
  { additionalProperties: false },
);

export const SnapshotItem = Type.Object(
  {
    id: Type.String({ description: 'This version of the item (`item_…`).' }),
    snapshot_id: Type.String(),
    kind: Type.Enum(['file', 'folder']),
    name: Type.String(),
    path: Type.String({ description: 'Path in the entity, as Dropbox displays it.' }),
    size_bytes: Type.Integer(),
    content_hash: Type.Union([Type.String(), Type.Null()], { description: 'Dropbox content_hash of the bytes backed up (files); for an exported document, of its export.' }),
    exported_as: Type.Union([Type.String(), Type.Null()], {
      description: 'Set for documents Dropbox cannot download as they are (Paper, Google Docs): the format they were backed up in through files/export, e.g. `docx`. Restores and exports name the file with this extension added.',
    }),
    rev: Type.Union([Type.String(), Type.Null()]),
    dropbox_id: Type.Union([Type.String(), Type.Null()]),
    server_modified: NullableTimestamp(),
    client_modified: NullableTimestamp(),
    modified_by: Type.Union([Type.String(), Type.Null()], { description: 'Dropbox account id of the last modifier (team folders).' }),
    backed_up_at: Timestamp('When the backup that first stored this version started.'),
  },
  { $id: 'SnapshotItem', additionalProperties: false },
);
export type SnapshotItem = Static<typeof SnapshotItem>;

export const SnapshotItemList = Page(SnapshotItem, 'SnapshotItemList');

export const SnapshotItemsQuery = Type.Object(
  {
    ...PageQuery,
    path: Type.Optional(Type.String({ maxLength: 4096, description: 'The folder to list, e.g. `/Documents`; omit for the top level. Folders come first, then files, by name.' })),
  },
  { additionalProperties: false },
);

export const ItemVersion = Type.Object(
  {
    id: Type.String(),
    kind: Type.Enum(['file', 'folder']),
    path: Type.String(),
    size_bytes: Type.Integer(),
    content_hash: Type.Union([Type.String(), Type.Null()]),
    rev: Type.Union([Type.String(), Type.Null()]),
    server_modified: NullableTimestamp(),
    first_snapshot_id: Type.String({ description: 'The first snapshot holding this version.' }),
    backed_up_at: Timestamp(),
    replaced_by_snapshot_id: Type.Union([Type.String(), Type.Null()], { description: 'The first snapshot without this version; null while current.' }),
  },
  { $id: 'ItemVersion', additionalProperties: false },
);

export const SnapshotItemDetail = Type.Object(
  {
    ...SnapshotItem.properties,
    versions: Type.Array(ref(ItemVersion), { description: 'Every backed-up version at this path, newest first (up to 100).' }),
  },
  { $id: 'SnapshotItemDetail', additionalProperties: false },
);

export const HistoryDay = Type.Object(
  {
    date: Type.String({ format: 'date' }),
    items_backed_up: Type.Integer({ description: 'Files and folders stored that day (new and changed).' }),
    deleted: Type.Integer(),
    failed: Type.Integer({ description: 'Files that failed in the completed backups of that day.' }),
    backups: Type.Integer({ description: 'Completed backups that day.' }),
    failed_backups: Type.Integer({ description: 'Backups that failed that day (none of their changes became a snapshot; see GET /v1/entities/{id}/runs).' }),
    bytes_downloaded: Type.Integer(),
  },
  { $id: 'HistoryDay', additionalProperties: false },
);

export const EntityHistory = Type.Object(
  {
    entity_id: Type.String(),
    from: Timestamp(),
    to: Timestamp(),
    summary: Type.Object(
      {
        total_items: Type.Integer(),
        size_bytes: Type.Integer(),
        last_backup_at: NullableTimestamp(),
        last_outcome: Type.Union([Type.Enum(['succeeded', 'partial', 'failed']), Type.Null()]),
        snapshots: Type.Integer({ description: 'Completed snapshots in the period.' }),
        failed_backups: Type.Integer({ description: 'Backups that failed in the period.' }),
      },
      { additionalProperties: false },
    ),
    days: Type.Array(ref(HistoryDay), { description: 'One entry per UTC day of the period, oldest first.' }),
  },
  { $id: 'EntityHistory', additionalProperties: false },
);

export const HistoryQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Default: 30 days before `to`.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Default: now. At most 31 days after `from`.' })),
  },
  { additionalProperties: false },
);

export const schemas = [SnapshotCounts, SnapshotError, Snapshot, SnapshotList, SnapshotItem, SnapshotItemList, ItemVersion, SnapshotItemDetail, HistoryDay, EntityHistory];
