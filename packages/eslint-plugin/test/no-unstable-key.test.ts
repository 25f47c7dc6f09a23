import rule from '../src/rules/no-unstable-key.js'
import { file, header, ruleTester } from './rule-tester.js'

const code = (body: string) => header + body
const kafkajs = "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\n"

ruleTester.run('no-unstable-key', rule as never, {
  valid: [
    {
      filename: file,
      code: code(
        'declare const order: { id: string }\nawait producer.send(orders, { key: order.id, value: { at: Date.now() } })',
      ),
    },
    {
      filename: file,
      code: code(
        'declare const order: { id: string; at: number }\nawait producer.send(orders, { key: `${order.id}`, value: 1, timestamp: Date.now() })',
      ),
    },
    // A date that is data, not the clock.
    {
      filename: file,
      code: code(
        'declare const day: string\nawait producer.send(orders, { key: new Date(day).toISOString().slice(0, 10), value: 1 })',
      ),
    },
    // JSON of a string or an array is stable.
    {
      filename: file,
      code: code('declare const id: string\nawait producer.send(orders, { key: JSON.stringify(id), value: 1 })'),
    },
    {
      filename: file,
      code: code(
        'declare const a: string, b: string\nawait producer.send(orders, { key: JSON.stringify([a, b]), value: 1 })',
      ),
    },
    // Name-based UUIDs (v5) are stable.
    {
      filename: file,
      code: code(
        "import { v5 } from 'uuid'\ndeclare const ns: string, email: string\nawait producer.send(orders, { key: v5(email, ns), value: 1 })",
      ),
    },
    // An unordered, uncompacted keyed topic needs no key at all.
    { filename: file, code: code('await producer.send(clicks, { key: crypto.randomUUID(), value: 1 })') },
    // A random value somewhere else in the record.
    { filename: file, code: code("await producer.send(orders, { key: 'o', value: Math.random() })") },
    // A function that merely mentions random inside, defined in the key: not called here.
    {
      filename: file,
      code: code(
        'declare const id: string\nconst makeKey = () => id\nawait producer.send(orders, { key: makeKey(), value: 1 })',
      ),
    },
    {
      filename: file,
      code:
        kafkajs +
        "declare const id: string\nawait p.send({ topic: 'orders', messages: [{ key: id, value: String(Math.random()) }] })",
    },
    // Not kafkajs: a class of one's own whose send takes { topic, messages } (the receiver's type decides, not the shape).
    {
      filename: file,
      code: code(
        "class Queue { send(_: { topic: string; messages: { key: string }[] }) {} }\nnew Queue().send({ topic: 'jobs', messages: [{ key: String(Math.random()) }] })",
      ),
    },
  ],
  invalid: [
    {
      filename: file,
      code: code('await producer.send(orders, { key: String(Math.random()), value: 1 })'),
      errors: [{ messageId: 'unstableKey', data: { source: 'Math.random()' }, line: 2, column: 43 }],
    },
    {
      filename: file,
      code: code('await producer.send(orders, { key: `${Date.now()}`, value: 1 })'),
      errors: [{ messageId: 'unstableKey', data: { source: 'Date.now()' } }],
    },
    {
      filename: file,
      code: code('await producer.send(orders, { key: new Date().toISOString(), value: 1 })'),
      errors: [{ messageId: 'unstableKey', data: { source: 'new Date()' } }],
    },
    {
      filename: file,
      code: code("await producer.send(orders, { key: 'k' + performance.now(), value: 1 })"),
      errors: [{ messageId: 'unstableKey', data: { source: 'performance.now()' } }],
    },
    {
      filename: file,
      code: code('await producer.send(profiles, { key: crypto.randomUUID(), value: 1 })'),
      errors: [{ messageId: 'unstableKey', data: { source: 'crypto.randomUUID()' } }],
    },
    {
      filename: file,
      code: code(
        "import { randomUUID } from 'node:crypto'\nawait producer.send(orders, { key: randomUUID(), value: 1 })",
      ),
      errors: [{ messageId: 'unstableKey', data: { source: "randomUUID() from 'node:crypto'" } }],
    },
    {
      filename: file,
      code: code("import { v4 as uuidv4 } from 'uuid'\nawait producer.send(orders, { key: uuidv4(), value: 1 })"),
      errors: [{ messageId: 'unstableKey', data: { source: "uuidv4() from 'uuid'" } }],
    },
    {
      filename: file,
      code: code("import * as uuid from 'uuid'\nawait producer.send(orders, { key: uuid.v1(), value: 1 })"),
      errors: [{ messageId: 'unstableKey', data: { source: "uuid.v1() from 'uuid'" } }],
    },
    {
      filename: file,
      code: code(
        "import { nanoid } from 'nanoid'\nawait producer.send(orders, { key: `order-${nanoid()}`, value: 1 })",
      ),
      errors: [{ messageId: 'unstableKey', data: { source: "nanoid() from 'nanoid'" } }],
    },
    // Through a const: reported where the key uses it.
    {
      filename: file,
      code: code(
        'const id = crypto.randomUUID()\nconst key = `order-${id}`\nawait producer.send(orders, { key, value: 1 })',
      ),
      errors: [{ messageId: 'unstableKey', line: 4, column: 31 }],
    },
    {
      filename: file,
      code: code(
        'declare const order: { id: string; region: string }\nawait producer.send(orders, { key: JSON.stringify({ id: order.id, region: order.region }), value: 1 })',
      ),
      errors: [{ messageId: 'jsonKey', data: { source: 'JSON.stringify of an object' } }],
    },
    {
      filename: file,
      code: code(
        'declare const order: { id: string; region: string }\nawait producer.send(orders, { key: JSON.stringify(order), value: 1 })',
      ),
      errors: [{ messageId: 'jsonKey' }],
    },
    // Batches, map callbacks and tombstones.
    {
      filename: file,
      code: code(
        'declare const rows: { n: number }[]\nawait producer.send(orders, rows.map((r) => ({ key: `${Date.now()}-${r.n}`, value: r })))',
      ),
      errors: [{ messageId: 'unstableKey', data: { source: 'Date.now()' } }],
    },
    {
      filename: file,
      code: code('await producer.tombstone(profiles, String(Math.random()))'),
      errors: [{ messageId: 'unstableKey' }],
    },
    // kafkajs: a random key is never better than none.
    {
      filename: file,
      code: kafkajs + "await p.send({ topic: 'events', messages: [{ key: Math.random().toString(36), value: 'x' }] })",
      errors: [{ messageId: 'kafkajsUnstableKey', data: { source: 'Math.random()' } }],
    },
    {
      filename: file,
      code:
        kafkajs +
        "await p.sendBatch({ topicMessages: [{ topic: 'a', messages: [{ key: String(process.hrtime.bigint()), value: 'x' }] }] })",
      errors: [{ messageId: 'kafkajsUnstableKey', data: { source: 'process.hrtime.bigint()' } }],
    },
  ],
})
