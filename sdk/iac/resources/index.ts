// Every resource type and data source the IaC tool knows, by name. A new type: a file in this folder
// implementing ResourceType (or DataSourceType) from ../types.ts, and one line in the list below.
import type { DataSourceType, ResourceType } from '../types.ts';
import { tag } from './tag.ts';
import { task } from './task.ts';
import { entity } from './entity.ts';
import { account, entities, regions, tags, taskData } from './data.ts';

export const RESOURCE_TYPES: readonly ResourceType[] = [
  tag,
  task,
  entity,
];

export const DATA_SOURCE_TYPES: readonly DataSourceType[] = [
  regions,
  account,
  taskData,
  entities,
  tags,
];

const resources = new Map(RESOURCE_TYPES.map((t) => [t.name, t]));
const dataSources = new Map(DATA_SOURCE_TYPES.map((t) => [t.name, t]));

export function resourceType(name: string): ResourceType | undefined {
  return resources.get(name);
}

export function dataSourceType(name: string): DataSourceType | undefined {
  return dataSources.get(name);
}
