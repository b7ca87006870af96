// A consumer of CS Ops events in Node: amqplib, the CloudEvents SDK and ajv in strict mode.
//
//   AMQP_URI=amqp://my-app:secret@127.0.0.1:5672/ QUEUE_NAME=my-app.events node consume.mjs
//   node consume.mjs --check-schemas     # compile every schema, consume nothing
//
// Declares its own durable queue (QUEUE_NAME), binds it with `#` to the topic exchange of every
// service that publishes (`<service>.events`, read from the schemas' `source`), and for each message:
// parses it as a structured-mode CloudEvent (content type application/cloudevents+json), validates
// the envelope against docs/events/schemas/<type>.v<dataversion>.json and its data against that
// file's `#/$defs/data`, prints one JSON line, and acks. SIGINT or SIGTERM prints a report (per
// type: received, invalid) as a last JSON line and exits. A real consumer also deduplicates on `id`
// (delivery is at least once) in the same transaction as its effect.
import { readFileSync, readdirSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import amqp from "amqplib";
import { CloudEvent } from "cloudevents";

const SCHEMA_DIR = new URL(process.env.SCHEMA_DIR ?? "../../docs/events/schemas/", import.meta.url);
const AMQP_URI = process.env.AMQP_URI ?? "amqp://guest:guest@127.0.0.1:5672/";
const QUEUE_NAME = process.env.QUEUE_NAME ?? "example-consumer.all-events";
const CONTENT_TYPE = "application/cloudevents+json";

/** "<type>.v<dataversion>" -> the compiled schemas of the whole envelope and of its data alone. */
function loadSchemas() {
  const ajv = new Ajv2020({ strict: true, allErrors: true }); // strict: a sloppy schema fails here, not in production
  addFormats(ajv); // date-time, uri-reference, ...: ajv checks no format without it
  const byKey = new Map();
  let compiled = 0;
  for (const file of readdirSync(SCHEMA_DIR).filter((name) => name.endsWith(".json"))) {
    const schema = JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), "utf8"));
    ajv.addSchema(schema);
    compiled += 1;
    const type = schema.properties?.type?.const; // the envelope schema has none: it is every type's
    if (type === undefined) {
      ajv.getSchema(schema.$id); // compiled (and so checked) all the same
      continue;
    }
    byKey.set(`${type}.v${schema.properties.dataversion.const}`, {
      source: schema.properties.source.const,
      envelope: ajv.getSchema(schema.$id),
      data: ajv.getSchema(`${schema.$id}#/$defs/data`),
    });
  }
  return { ajv, byKey, compiled };
}

function check(message, { ajv, byKey }) {
  if (message.properties.contentType !== CONTENT_TYPE) {
    return { problems: [`content type ${message.properties.contentType}, not ${CONTENT_TYPE}`] };
  }
  let wire;
  let event;
  try {
    wire = JSON.parse(message.content.toString("utf8"));
    event = new CloudEvent(wire); // checks the CloudEvents 1.0 attributes
  } catch (error) {
    return { problems: [`not a CloudEvent: ${error.message}`] };
  }
  const found = { type: event.type, id: event.id, subject: event.subject, sequence: event.sequence };
  const schemas = byKey.get(`${event.type}.v${event.dataversion}`);
  if (schemas === undefined) return { ...found, problems: [`no schema for ${event.type} v${event.dataversion}`] };
  const problems = [];
  // the body as sent: the SDK's event keeps `time` to the millisecond only (order by `sequence`, not `time`)
  if (!schemas.envelope(wire)) problems.push(ajv.errorsText(schemas.envelope.errors, { dataVar: "event" }));
  if (!schemas.data(event.data)) problems.push(ajv.errorsText(schemas.data.errors, { dataVar: "data" }));
  return { ...found, problems };
}

function report(counts) {
  return {
    report: Object.fromEntries([...counts].sort().map(([type, [received, invalid]]) => [type, { received, invalid }])),
  };
}

async function consume(schemas) {
  const exchanges = [...new Set([...schemas.byKey.values()].map(({ source }) => `${source.split("/").pop()}.events`))];
  const connection = await amqp.connect(AMQP_URI);
  const channel = await connection.createChannel();
  await channel.assertQueue(QUEUE_NAME, { durable: true });
  for (const exchange of exchanges.sort()) {
    await channel.assertExchange(exchange, "topic", { durable: true });
    await channel.bindQueue(QUEUE_NAME, exchange, "#");
  }
  await channel.prefetch(20);
  const counts = new Map(); // type -> [received, invalid]
  await channel.consume(QUEUE_NAME, (message) => {
    const result = check(message, schemas);
    const type = result.type ?? "(unreadable)";
    const [received, invalid] = counts.get(type) ?? [0, 0];
    counts.set(type, [received + 1, invalid + (result.problems.length ? 1 : 0)]);
    console.log(JSON.stringify({ ...result, valid: result.problems.length === 0 }));
    channel.ack(message);
  });
  console.log(JSON.stringify({ ready: QUEUE_NAME, exchanges }));
  const stop = async () => {
    console.log(JSON.stringify(report(counts)));
    await connection.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

const schemas = loadSchemas();
if (process.argv.includes("--check-schemas")) {
  console.log(JSON.stringify({ compiled: schemas.compiled, types: [...schemas.byKey.keys()].sort() }));
} else {
  await consume(schemas);
}
