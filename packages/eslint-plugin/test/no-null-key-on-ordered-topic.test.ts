import rule from '../src/rules/no-null-key-on-ordered-topic.js'
import { file, header, nonStrict, ruleTester } from './rule-tester.js'

const code = (body: string) => header + body

ruleTester.run('no-null-key-on-ordered-topic', rule as never, {
  valid: [
    { filename: file, code: code("await producer.send(orders, { key: 'order-1', value: { total: 1 } })") },
    {
      filename: file,
      code: code(
        'declare const id: string\nawait producer.send(orders, [{ key: id, value: 1 }, { key: `${id}-b`, value: 2 }])',
      ),
    },
    // Unordered, uncompacted topics may carry keyless records.
    { filename: file, code: code('await producer.send(clicks, { value: { x: 1 } })') },
    { filename: file, code: code('await producer.send(clicks, { key: null, value: 1 })') },
    // A narrowed key.
    {
      filename: file,
      code: code(
        "declare const id: string | undefined\nif (!id) throw new Error('no id')\nawait producer.send(orders, { key: id, value: 1 })",
      ),
    },
    // A spread that carries a required key.
    {
      filename: file,
      code: code('declare const base: { key: string }\nawait producer.send(orders, { ...base, value: 1 })'),
    },
    // An explicit key after a spread with an optional one wins.
    {
      filename: file,
      code: code(
        "declare const base: { key?: string; value: number }\nawait producer.send(orders, { ...base, key: 'k' })",
      ),
    },
    // The topic's name says nothing: its declared type does.
    {
      filename: file,
      code: code(
        "import { defineTopic } from '@keyed/sdk'\nconst orderedSounding = defineTopic('orders.ordered', { ordering: 'none' })\nawait producer.send(orderedSounding, { value: 1 })",
      ),
    },
    // Not a keyed topic: some other send().
    {
      filename: file,
      code: code(
        "declare const socket: { send(to: string, data: { key?: string }): void }\nsocket.send('a', { key: undefined })",
      ),
    },
    // kafkajs without orderedTopics: nothing is known about the topic.
    {
      filename: file,
      code: code(
        "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\nawait p.send({ topic: 'orders', messages: [{ value: 'x' }] })",
      ),
    },
    {
      filename: file,
      code: code(
        "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\nawait p.send({ topic: 'orders', messages: [{ key: 'o-1', value: 'x' }] })",
      ),
      options: [{ orderedTopics: ['orders'] }],
    },
    {
      filename: file,
      code: code(
        "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\nawait p.send({ topic: 'metrics', messages: [{ value: 'x' }] })",
      ),
      options: [{ orderedTopics: ['orders.*', '/^payments-/'] }],
    },
    // A class that is not kafkajs, with a send({ topic, messages }) of its own: not a kafkajs send.
    {
      filename: file,
      code: code(
        "class Mailer { async send(_: { topic: string; messages: { to: string }[] }) {} }\nawait new Mailer().send({ topic: 'orders', messages: [{ to: 'x' }] })",
      ),
      options: [{ orderedTopics: ['orders'] }],
    },
    {
      filename: file,
      code: code(
        "declare const bus: { sendBatch(b: { topicMessages: { topic: string; messages: { value: string }[] }[] }): void }\nbus.sendBatch({ topicMessages: [{ topic: 'orders', messages: [{ value: 'x' }] }] })",
      ),
      options: [{ orderedTopics: ['orders'] }],
    },
    // kafkajs's Message type allows a null key; a batch typed with it is not guessed at.
    {
      filename: file,
      code: code(
        "import { Kafka, type Message } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\ndeclare const batch: Message[]\nawait p.send({ topic: 'orders', messages: batch })",
      ),
      options: [{ orderedTopics: ['orders'] }],
    },
    // Without strictNullChecks a declared optional type cannot be told from a required one: only literals are reported.
    {
      ...nonStrict,
      code: code('declare const id: string | undefined\nawait producer.send(orders, { key: id, value: 1 })'),
    },
    // A generic helper whose topic may be unordered and uncompacted.
    {
      filename: file,
      code: code(
        "import type { Topic } from '@keyed/sdk'\nexport async function log<T extends Topic<string, unknown, 'none', 'delete'>>(topic: T) {\n  await producer.send(topic, { value: 1 } as never)\n}",
      ),
    },
    // Records typed by the SDK: a concrete SendRecord, and a generic helper forwarding SendRecord<T>.
    {
      filename: file,
      code: code(
        "import type { SendRecord } from '@keyed/sdk'\ndeclare const r: SendRecord<typeof orders>\nawait producer.send(orders, r)",
      ),
    },
    {
      filename: file,
      code: code(
        "import type { AnyTopic, SendRecord } from '@keyed/sdk'\nexport function publish<T extends AnyTopic>(topic: T, record: SendRecord<T>) {\n  return producer.send(topic, record)\n}",
      ),
    },
    {
      filename: file,
      code: code(
        "import type { AnyTopic, SendRecord } from '@keyed/sdk'\nexport function publishAll<T extends AnyTopic>(topic: T, records: SendRecord<T>[]) {\n  return producer.send(topic, records)\n}",
      ),
    },
    {
      filename: file,
      code: code(
        "import type { AnyTopic, KeyInputOf } from '@keyed/sdk'\nexport function put<T extends AnyTopic>(topic: T, key: KeyInputOf<T>, value: unknown) {\n  return producer.send(topic, { key, value } as never)\n}",
      ),
    },
  ],
  invalid: [
    {
      filename: file,
      code: code('await producer.send(orders, { value: { total: 1 } })'),
      errors: [
        {
          messageId: 'missingKey',
          data: { topic: 'orders', why: "ordered per key (ordering: 'per-key')" },
          line: 2,
          column: 29,
        },
      ],
    },
    {
      filename: file,
      code: code('await producer.send(orders, { key: null, value: 1 } as any)'),
      errors: [
        {
          messageId: 'nullKey',
          data: { value: 'null', topic: 'orders', why: "ordered per key (ordering: 'per-key')" },
        },
      ],
    },
    {
      filename: file,
      code: code('await producer.send(orders, { key: undefined, value: 1 } as never)'),
      errors: [
        {
          messageId: 'nullKey',
          data: { value: 'undefined', topic: 'orders', why: "ordered per key (ordering: 'per-key')" },
        },
      ],
    },
    // A compacted, unordered topic still needs keys.
    {
      filename: file,
      code: code('await producer.send(profiles, { value: 1 } as never)'),
      errors: [{ messageId: 'missingKey', data: { topic: 'profiles', why: "compacted (cleanupPolicy: 'compact')" } }],
    },
    {
      filename: file,
      code: code('await producer.send(accounts, { value: 1 } as never)'),
      errors: [
        {
          messageId: 'missingKey',
          data: {
            topic: 'accounts',
            why: "ordered per key (ordering: 'per-key') and compacted (cleanupPolicy: 'compact,delete')",
          },
        },
      ],
    },
    // string | undefined under strictNullChecks.
    {
      filename: file,
      code: code('declare const id: string | undefined\nawait producer.send(orders, { key: id, value: 1 } as never)'),
      errors: [
        {
          messageId: 'nullableKey',
          data: { type: 'string | undefined', topic: 'orders', why: "ordered per key (ordering: 'per-key')" },
        },
      ],
    },
    // Optional chaining makes a nullable key.
    {
      filename: file,
      code: code(
        'declare const user: { profile?: { id: string } }\nawait producer.send(orders, { key: user.profile?.id, value: 1 } as never)',
      ),
      errors: [{ messageId: 'nullableKey' }],
    },
    // Batches: each bad record is reported.
    {
      filename: file,
      code: code(
        "await producer.send(orders, [{ key: 'a', value: 1 }, { value: 2 }, { key: null, value: 3 }] as never)",
      ),
      errors: [{ messageId: 'missingKey', column: 54 }, { messageId: 'nullKey' }],
    },
    // A batch built with map.
    {
      filename: file,
      code: code(
        'declare const rows: { id?: string }[]\nawait producer.send(orders, rows.map((r) => ({ key: r.id, value: r })) as never)',
      ),
      errors: [{ messageId: 'nullableKey' }],
    },
    // Spreads: an optional key from a spread, and a missing key after spreading something without one.
    {
      filename: file,
      code: code('declare const base: { key?: string }\nawait producer.send(orders, { ...base, value: 1 } as never)'),
      errors: [
        {
          messageId: 'nullableKey',
          data: { type: 'string | undefined', topic: 'orders', why: "ordered per key (ordering: 'per-key')" },
        },
      ],
    },
    {
      filename: file,
      code: code(
        'declare const meta: { headers: Record<string, string> }\nawait producer.send(orders, { ...meta, value: 1 } as never)',
      ),
      errors: [{ messageId: 'missingKey' }],
    },
    // The record held in a variable, the topic held in a variable.
    {
      filename: file,
      code: code(
        'const topic = orders\nconst record = { key: null, value: 1 }\nawait producer.send(topic, record as never)',
      ),
      errors: [{ messageId: 'nullKey', line: 3 }],
    },
    // A typed record value with an optional key.
    {
      filename: file,
      code: code('declare const record: { key?: string; value: number }\nawait producer.send(orders, record as never)'),
      errors: [{ messageId: 'nullableKey' }],
    },
    // A generic helper: the constraint declares the topic ordered.
    {
      filename: file,
      code: code(
        "import type { Topic } from '@keyed/sdk'\nexport async function publish<T extends Topic<string, number, 'per-key'>>(topic: T, value: number) {\n  await producer.send(topic, { value } as never)\n}",
      ),
      errors: [{ messageId: 'missingKey', line: 4 }],
    },
    // A generic helper over any topic: the topic may be ordered.
    {
      filename: file,
      code: code(
        "import type { AnyTopic } from '@keyed/sdk'\nexport function emit<T extends AnyTopic>(topic: T, id?: string) {\n  return producer.send(topic, { key: id, value: 1 } as never)\n}",
      ),
      errors: [{ messageId: 'nullableKey' }],
    },
    // A call to a generic helper that takes SendRecord<T>: the record is checked against the topic passed in.
    {
      filename: file,
      code: code(
        "import type { AnyTopic, SendRecord } from '@keyed/sdk'\nfunction publish<T extends AnyTopic>(topic: T, record: SendRecord<T>) {\n  return producer.send(topic, record)\n}\nawait publish(orders, { value: 1 } as never)\nawait publish(clicks, { value: 1 })",
      ),
      errors: [{ messageId: 'missingKey', line: 6 }],
    },
    {
      filename: file,
      code: code(
        "import type { AnyTopic, SendRecord } from '@keyed/sdk'\nconst publishAll = <T extends AnyTopic>(records: readonly SendRecord<T>[], topic: T) => producer.send(topic, records)\nawait publishAll([{ key: 'a', value: 1 }, { key: null, value: 2 }] as never, profiles)",
      ),
      errors: [{ messageId: 'nullKey', line: 4 }],
    },
    // A topic from a union of declarations.
    {
      filename: file,
      code: code('declare const urgent: boolean\nawait producer.send(urgent ? orders : clicks, { value: 1 } as never)'),
      errors: [{ messageId: 'missingKey' }],
    },
    // tombstone with no key.
    {
      filename: file,
      code: code('await producer.tombstone(profiles, undefined as never)'),
      errors: [
        {
          messageId: 'nullKey',
          data: { value: 'undefined as never', topic: 'profiles', why: "compacted (cleanupPolicy: 'compact')" },
        },
      ],
    },
    // Without strictNullChecks: literal null, undefined and a missing key are still reported.
    {
      ...nonStrict,
      code: code('await producer.send(orders, { key: null, value: 1 })'),
      errors: [{ messageId: 'nullKey' }],
    },
    { ...nonStrict, code: code('await producer.send(orders, { value: 1 })'), errors: [{ messageId: 'missingKey' }] },
    {
      filename: file,
      code: code(
        "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\ndeclare const batch: { key?: string; value: string }[]\nawait p.send({ topic: 'orders', messages: batch })",
      ),
      options: [{ orderedTopics: ['orders'] }],
      errors: [{ messageId: 'kafkajsNullableKey' }],
    },
    // kafkajs users read about kafkajs, not keyed's MissingKeyError; a transaction is a kafkajs sender too.
    {
      filename: file,
      code: code(
        "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\nconst tx = await p.transaction()\nawait tx.send({ topic: 'orders', messages: [{ value: 'x' }] })",
      ),
      options: [{ orderedTopics: ['orders'] }],
      errors: [
        {
          messageId: 'kafkajsMissingKey',
          data: { topic: "'orders'", why: 'ordered per key (listed in orderedTopics)' },
        },
      ],
    },
    // A producer kept in a class field, possibly undefined until connect().
    {
      filename: file,
      code: code(
        "import { Kafka, type Producer } from 'kafkajs'\nclass Orders {\n  private producer?: Producer\n  connect() { this.producer = new Kafka({ brokers: [] }).producer() }\n  async place(id: string | undefined) { await this.producer?.send({ topic: 'orders', messages: [{ key: id, value: 'x' }] }) }\n}\nexport { Orders }",
      ),
      options: [{ orderedTopics: ['orders'] }],
      errors: [{ messageId: 'kafkajsNullableKey', line: 6 }],
    },
    // kafkajs with orderedTopics: names, globs and regexes.
    {
      filename: file,
      code: code(
        "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\nawait p.send({ topic: 'orders', messages: [{ value: 'x' }, { key: null, value: 'y' }] })",
      ),
      options: [{ orderedTopics: ['orders'] }],
      errors: [
        {
          messageId: 'kafkajsMissingKey',
          data: { topic: "'orders'", why: 'ordered per key (listed in orderedTopics)' },
        },
        { messageId: 'kafkajsNullKey' },
      ],
    },
    {
      filename: file,
      code: code(
        "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\nconst TOPIC = 'payments-eu'\ndeclare const id: string | null\nawait p.sendBatch({ topicMessages: [{ topic: TOPIC, messages: [{ key: id, value: 'x' }] }, { topic: 'orders.v2', messages: [{ value: 'y' }] }] })",
      ),
      options: [{ orderedTopics: ['orders.*', '/^payments-/'] }],
      errors: [
        {
          messageId: 'kafkajsNullableKey',
          data: { type: 'string | null', topic: "'payments-eu'", why: 'ordered per key (listed in orderedTopics)' },
        },
        { messageId: 'kafkajsMissingKey' },
      ],
    },
  ],
})
