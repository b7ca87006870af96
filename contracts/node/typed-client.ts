// A few calls of the CS Ops API typed from its OpenAPI document by openapi-typescript:
// `npm run types` generates generated/openapi.d.ts and compiles this file with `tsc --strict`,
// so a field the document leaves optional, untyped or misnamed fails the build here first.
import type { components, paths } from "./generated/openapi.js";

type Json<T> = T extends { content: { "application/json": infer Body } } ? Body : never;
type Token = Json<paths["/api/v1/auth/token"]["post"]["responses"][200]>;
type NewTicket = Json<paths["/api/v1/tickets"]["post"]["requestBody"]>;
type TicketDetail = Json<paths["/api/v1/tickets"]["post"]["responses"][201]>;
type TicketPage = Json<paths["/api/v1/tickets"]["get"]["responses"][200]>;
type TicketState = components["schemas"]["TicketSummary"]["state"];
type AlertPage = Json<paths["/api/v1/monitoring/alerts"]["get"]["responses"][200]>;

async function call<T>(base: string, path: string, init: RequestInit & { token?: string }): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("Content-Type", "application/json");
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  const response = await fetch(base + path, { ...init, headers });
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export function logIn(base: string, username: string, password: string): Promise<Token> {
  return call<Token>(base, "/api/v1/auth/token", { method: "POST", body: JSON.stringify({ username, password }) });
}

export function openTicket(base: string, token: string, ticket: NewTicket): Promise<TicketDetail> {
  return call<TicketDetail>(base, "/api/v1/tickets", { method: "POST", token, body: JSON.stringify(ticket) });
}

/** Every field of a page and of its tickets is always there: no `undefined` to handle. */
export async function openTicketSubjects(base: string, token: string): Promise<string[]> {
  const page = await call<TicketPage>(base, "/api/v1/tickets?per_page=100", { token });
  const open: TicketState[] = ["new", "assigned", "in_progress", "waiting_customer"];
  return page.items.filter((ticket) => open.includes(ticket.state)).map((ticket) => `#${ticket.id} ${ticket.subject}`)
    .concat(`${page.items.length} of ${page.total}`);
}

export async function openAlertCount(base: string, token: string): Promise<number> {
  const alerts = await call<AlertPage>(base, "/api/v1/monitoring/alerts?state=open", { token });
  return alerts.total;
}

export const example: NewTicket = {
  subject: "Charged twice", channel: "web_form", kind: "complaint", priority: "high",
  customer: { name: "Chen Jie", contact: "+86 139 1234 5678" },
};
