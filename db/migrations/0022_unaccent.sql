-- Custom SQL migration file, put your code below! --
-- Item search is accent-insensitive: documents and queries go through unaccent() (a trusted
-- extension shipped with PostgreSQL). Documents written before are re-tokenized here: the name
-- (A) and folders (B) from item_versions, and the file-text lexemes (D) unaccented as they are.
-- The separators are workers/recovery/search-index.ts's SEPARATORS.
CREATE EXTENSION IF NOT EXISTS unaccent;--> statement-breakpoint
UPDATE search_documents s SET tsv =
  setweight(to_tsvector('simple', translate(unaccent(iv.name), '/._-()[]{},+&@#=~''', '                  ')), 'A') ||
  setweight(to_tsvector('simple', translate(unaccent(iv.parent_lower), '/._-()[]{},+&@#=~''', '                  ')), 'B') ||
  setweight(to_tsvector('simple', unaccent(array_to_string(tsvector_to_array(ts_filter(s.tsv, '{d}')), ' '))), 'D')
FROM item_versions iv
WHERE iv.id = s.item_version_id;--> statement-breakpoint
-- Jobs name their task and entity (copied at creation from now on); existing jobs take the
-- current names where the task or entity still exists.
UPDATE jobs j SET task_name = t.name FROM tasks t WHERE t.id = j.task_id AND j.task_name IS NULL;--> statement-breakpoint
UPDATE jobs j SET entity_name = e.name FROM entities e WHERE e.id = j.entity_id AND j.entity_name IS NULL;
--> statement-breakpoint
-- Snapshots say when the search index covered them: a snapshot none of whose item versions lacks
-- a search document was covered already (when exactly is not recorded: its finish time stands in).
UPDATE backup_runs r SET search_indexed_at = coalesce(r.finished_at, r.started_at)
WHERE r.state IN ('succeeded', 'partial') AND r.search_indexed_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM item_versions iv
    WHERE iv.entity_id = r.entity_id AND iv.valid_from_run <= r.id
      AND NOT EXISTS (SELECT 1 FROM search_documents d WHERE d.item_version_id = iv.id));
