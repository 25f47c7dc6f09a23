import rule from '../src/rules/no-reordering-producer.js'
import { file, header, ruleTester } from './rule-tester.js'

const code = (body: string) => header + body
const kafkajs = "import { Kafka } from 'kafkajs'\nconst kafka = new Kafka({ brokers: [] })\n"

ruleTester.run('no-reordering-producer', rule as never, {
  valid: [
    // keyed's defaults: idempotent, one request in flight.
    { filename: file, code: code("const p = client.producer()\nawait p.send(orders, { key: 'o', value: 1 })") },
    { filename: file, code: code("const p = client.producer({ maxInFlight: 5 })\nawait p.send(orders, { key: 'o', value: 1 })") },
    { filename: file, code: code("const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 1 })\nawait p.send(orders, { key: 'o', value: 1 })") },
    { filename: file, code: code("const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 5, retries: 0 })\nawait p.send(orders, { key: 'o', value: 1 })") },
    // Reordering is fine on an unordered topic.
    { filename: file, code: code("const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 5 })\nawait p.send(clicks, { value: 1 })") },
    // Settings only known at run time are not guessed.
    { filename: file, code: code("declare const n: number\nconst p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: n })\nawait p.send(orders, { key: 'o', value: 1 })") },
    // kafkajs: idempotent, or one request in flight, or no retries.
    { filename: file, code: kafkajs + "const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })" },
    { filename: file, code: kafkajs + "const p = kafka.producer({ maxInFlightRequests: 1 })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })" },
    { filename: file, code: kafkajs + "const p = kafka.producer({ retry: { retries: 0 } })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })" },
    // kafkajs sending keyless records only.
    { filename: file, code: kafkajs + "const p = kafka.producer()\nawait p.send({ topic: 'logs', messages: [{ value: 'x' }] })" },
    // With orderedTopics, only those topics count.
    {
      filename: file,
      code: kafkajs + "const p = kafka.producer()\nawait p.send({ topic: 'logs', messages: [{ key: 'host-1', value: 'x' }] })",
      options: [{ orderedTopics: ['orders.*'] }],
    },
  ],
  invalid: [
    {
      filename: file,
      code: code("const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 5 })\nawait p.send(orders, { key: 'o', value: 1 })"),
      errors: [
        {
          messageId: 'keyedReordering',
          data: { retries: '5, the default', inFlight: '5', topic: 'orders' },
          line: 2,
          column: 27,
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlight' },
              output: code("const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 1 })\nawait p.send(orders, { key: 'o', value: 1 })"),
            },
          ],
        },
      ],
    },
    // The options held in a const, the topic ordered and compacted.
    {
      filename: file,
      code: code("const fast = { idempotent: false, acks: 'leader', maxInFlight: 3, retries: 2 } as const\nconst p = client.producer(fast)\nawait p.send(accounts, { key: 'a', value: 1 })"),
      errors: [
        {
          messageId: 'keyedReordering',
          data: { retries: '2', inFlight: '3', topic: 'accounts' },
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlight' },
              output: code("const fast = { idempotent: false, acks: 'leader', maxInFlight: 1, retries: 2 } as const\nconst p = client.producer(fast)\nawait p.send(accounts, { key: 'a', value: 1 })"),
            },
          ],
        },
      ],
    },
    // kafkajs defaults: not idempotent, unlimited in flight, 5 retries.
    {
      filename: file,
      code: kafkajs + "const p = kafka.producer()\nawait p.connect()\nawait p.send({ topic: 'orders', messages: [{ key: 'o-1', value: 'x' }] })",
      errors: [
        {
          messageId: 'kafkajsReordering',
          data: { inFlight: 'any number of requests (maxInFlightRequests is unset)', topic: "'orders'" },
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlightRequests' },
              output: kafkajs + "const p = kafka.producer({ maxInFlightRequests: 1 })\nawait p.connect()\nawait p.send({ topic: 'orders', messages: [{ key: 'o-1', value: 'x' }] })",
            },
          ],
        },
      ],
    },
    {
      filename: file,
      code: kafkajs + "const p = kafka.producer({ idempotent: false, maxInFlightRequests: 5, retry: { retries: 3 } })\nawait p.sendBatch({ topicMessages: [{ topic: 'orders.eu', messages: [{ value: 'x' }] }] })",
      options: [{ orderedTopics: ['orders.*'] }],
      errors: [
        {
          messageId: 'kafkajsReordering',
          data: { inFlight: '5 requests', topic: "'orders.eu'" },
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlightRequests' },
              output: kafkajs + "const p = kafka.producer({ idempotent: false, maxInFlightRequests: 1, retry: { retries: 3 } })\nawait p.sendBatch({ topicMessages: [{ topic: 'orders.eu', messages: [{ value: 'x' }] }] })",
            },
          ],
        },
      ],
    },
    {
      filename: file,
      code: kafkajs + "const p = kafka.producer({ allowAutoTopicCreation: false })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })",
      errors: [
        {
          messageId: 'kafkajsReordering',
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlightRequests' },
              output: kafkajs + "const p = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })",
            },
          ],
        },
      ],
    },
  ],
})
