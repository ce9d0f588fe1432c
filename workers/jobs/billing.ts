// Billing jobs: the daily metering of billable quantity, and the hourly billing cycle (start
// subscriptions, invoice periods, charge and retry, overdue, trial expiry, deletion scheduling).
import type { AppDeps } from '../../api/deps.ts';
import { meterUsage } from './billing/metering.ts';
import { runBillingCycle } from './billing/cycle.ts';

export async function meteringJob(deps: AppDeps) {
  return meterUsage(deps);
}

export async function billingJob(deps: AppDeps) {
  return runBillingCycle(deps);
}
