// A managed service provider's morning check: every customer, and in each one (acting for it with
// the Coffer-Account header) its backup tasks and how many of them are connected.
//
//   COFFER_API_URL=https://coffer.example.com COFFER_API_KEY=cfk_… node msp-customers.mjs
//
// The key is a partner's (an account signed up with "kind": "partner"); a partner user limited to
// some customers sees only those.
import { Coffer } from '@coffer/sdk';

const coffer = new Coffer({ baseUrl: process.env.COFFER_API_URL, apiKey: process.env.COFFER_API_KEY });

let customers = 0;
// `for await` walks every page; `access: 'active'` leaves out customers that withdrew our access.
for await (const customer of coffer.customers.list({ access: 'active' })) {
  customers++;
  // The same key, acting in the customer's account: permissions are ours, data is theirs.
  const inCustomer = coffer.withAccount(customer.id);
  const tasks = [];
  for await (const task of inCustomer.tasks.list()) tasks.push(task);
  const connected = tasks.filter((task) => task.connection_status === 'connected').length;
  console.log(`${customer.id}  ${customer.name.padEnd(24)}  ${customer.state.padEnd(16)}  billing=${customer.billing}  tasks=${tasks.length} connected=${connected}`);
}
console.log(`CUSTOMERS=${customers}`);
