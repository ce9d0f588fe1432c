// The permission model (operations a custom role or an API key may be granted). Its vocabulary is
// defined in db/permissions.ts, since stored columns are typed with it and db/ imports nothing
// above it; the API imports it from here.
export { ALL_PERMISSIONS, isPermission, PERMISSIONS, type Permission } from '../db/permissions.ts';
