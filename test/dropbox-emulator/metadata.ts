// Serialises tree entries as Dropbox Metadata (files.stone), in Dropbox's field order.
import type { Namespace } from './state.ts';
import type { TreeEntry, FileRevision } from './namespace-tree.ts';
import { latestRevision } from './state.ts';

/** sharing_info is only present inside shared/team folders (FileMetadata.sharing_info in the API spec; docs/dropbox.md §3.2). */
function isShared(ns: Namespace): boolean {
  return ns.type === 'team_folder' || ns.type === 'shared_folder';
}

export function fileMetadata(ns: Namespace, entry: TreeEntry, revision: FileRevision = latestRevision(entry), tagged = true): Record<string, unknown> {
  const shared = isShared(ns);
  return {
    ...(tagged ? { '.tag': 'file' } : {}),
    name: entry.name,
    path_lower: entry.pathLower,
    path_display: entry.pathDisplay,
    ...(shared ? { parent_shared_folder_id: ns.id } : {}),
    id: entry.id,
    client_modified: revision.clientModified,
    server_modified: revision.serverModified,
    rev: revision.rev,
    size: revision.size,
    ...(shared ? { sharing_info: { read_only: false, parent_shared_folder_id: ns.id, modified_by: revision.modifiedBy ?? null } } : {}),
    is_downloadable: !revision.exportAs,
    ...(revision.exportAs ? { export_info: { export_as: revision.exportAs, export_options: [revision.exportAs] } } : {}),
    content_hash: revision.contentHash,
  };
}

export function folderMetadata(ns: Namespace, entry: TreeEntry, tagged = true): Record<string, unknown> {
  const shared = isShared(ns);
  // A mount point carries the mounted folder's id: FolderSharingInfo.shared_folder_id ("If this
  // folder is a shared folder mount point, the ID of the shared folder mounted at this location"),
  // and the deprecated FolderMetadata.shared_folder_id.
  const mounted = ns.mounts.get(entry.pathLower);
  return {
    ...(tagged ? { '.tag': 'folder' } : {}),
    name: entry.name,
    path_lower: entry.pathLower,
    path_display: entry.pathDisplay,
    ...(shared ? { parent_shared_folder_id: ns.id } : {}),
    id: entry.id,
    ...(mounted ? { shared_folder_id: mounted } : {}),
    ...(shared || mounted
      ? { sharing_info: { read_only: false, ...(shared ? { parent_shared_folder_id: ns.id } : {}), ...(mounted ? { shared_folder_id: mounted } : {}), traverse_only: false, no_access: false } }
      : {}),
  };
}

export function entryMetadata(ns: Namespace, entry: TreeEntry): Record<string, unknown> {
  return entry.kind === 'file' ? fileMetadata(ns, entry) : folderMetadata(ns, entry);
}

export function deletedMetadata(ns: Namespace, pathLower: string): Record<string, unknown> {
  const display = ns.tree.goneDisplay.get(pathLower) ?? ns.tree.deletedFiles.get(pathLower)?.entry.pathDisplay ?? pathLower;
  return { '.tag': 'deleted', name: display.slice(display.lastIndexOf('/') + 1), path_lower: pathLower, path_display: display };
}
