// The data centers an account can choose at sign-up (the seed's "Location" list). A region is
// fixed for the life of an account; it selects the default storage bucket or prefix.
export interface Region {
  id: string;
  name: string;
  country: string;
}

export const REGIONS: readonly Region[] = [
  { id: 'us-east-1', name: 'US East (N. Virginia)', country: 'US' },
  { id: 'us-west-2', name: 'US West (Oregon)', country: 'US' },
  { id: 'ca-central-1', name: 'Canada (Central)', country: 'CA' },
  { id: 'eu-west-1', name: 'Europe (Ireland)', country: 'IE' },
  { id: 'eu-central-1', name: 'Europe (Frankfurt)', country: 'DE' },
  { id: 'eu-west-3', name: 'Europe (Paris)', country: 'FR' },
  { id: 'eu-west-2', name: 'Europe (London)', country: 'GB' },
  { id: 'ap-southeast-2', name: 'Asia Pacific (Sydney)', country: 'AU' },
  { id: 'ap-northeast-1', name: 'Asia Pacific (Tokyo)', country: 'JP' },
];

export const REGION_IDS: ReadonlySet<string> = new Set(REGIONS.map((r) => r.id));
