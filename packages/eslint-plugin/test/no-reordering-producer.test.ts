import rule from '../src/rules/no-reordering-producer.js'
import { file, header, ruleTester } from './rule-tester.js'

const code = (body: string) => header + body
const kafkajs = "import { Kafka } from 'kafkajs'\nconst kafka = new Kafka({ brokers: [] })\n"
/** A service that keeps its kafkajs producer in a class field, as most real code does. */
const service = (field: string, init: string, send: string) =>
  `import { Kafka, type Producer } from 'kafkajs'\nexport class Orders {\n  ${field}\n  constructor(kafka: Kafka) { ${init} }\n  async place(id: string) { ${send} }\n}`
const sendOrder = "await this.producer.send({ topic: 'orders', messages: [{ key: id, value: 'x' }] })"

ruleTester.run('no-reordering-producer', rule as never, {
  valid: [
    // keyed's defaults: idempotent, one request in flight.
    { filename: file, code: code("const p = client.producer()\nawait p.send(orders, { key: 'o', value: 1 })") },
    {
      filename: file,
      code: code("const p = client.producer({ maxInFlight: 5 })\nawait p.send(orders, { key: 'o', value: 1 })"),
    },
    {
      filename: file,
      code: code(
        "const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 1 })\nawait p.send(orders, { key: 'o', value: 1 })",
      ),
    },
    {
      filename: file,
      code: code(
        "const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 5, retries: 0 })\nawait p.send(orders, { key: 'o', value: 1 })",
      ),
    },
    // Reordering is fine on an unordered topic.
    {
      filename: file,
      code: code(
        "const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 5 })\nawait p.send(clicks, { value: 1 })",
      ),
    },
    // Settings only known at run time are not guessed.
    {
      filename: file,
      code: code(
        "declare const n: number\nconst p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: n })\nawait p.send(orders, { key: 'o', value: 1 })",
      ),
    },
    // kafkajs: idempotent, or one request in flight, or no retries.
    {
      filename: file,
      code:
        kafkajs +
        "const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })",
    },
    {
      filename: file,
      code:
        kafkajs +
        "const p = kafka.producer({ maxInFlightRequests: 1 })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })",
    },
    {
      filename: file,
      code:
        kafkajs +
        "const p = kafka.producer({ retry: { retries: 0 } })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })",
    },
    // kafkajs sending keyless records only.
    {
      filename: file,
      code: kafkajs + "const p = kafka.producer()\nawait p.send({ topic: 'logs', messages: [{ value: 'x' }] })",
    },
    // A class field producer that is safe, or whose sends go through another field.
    {
      filename: file,
      code: service(
        'private producer: Producer',
        'this.producer = kafka.producer({ maxInFlightRequests: 1 })',
        sendOrder,
      ),
    },
    {
      filename: file,
      code: service(
        'private producer: Producer\n  private other!: Producer',
        'this.producer = kafka.producer()',
        "await this.other.send({ topic: 'orders', messages: [{ key: id, value: 'x' }] })",
      ),
    },
    // A function expression rebinds `this`: its this.producer is not the field.
    {
      filename: file,
      code: service(
        'private producer: Producer',
        'this.producer = kafka.producer()',
        "const self = { producer: this.producer }\n    await (async function (this: typeof self) { await this.producer.send({ topic: 'orders', messages: [{ key: id }] }) }).call(self)",
      ),
    },
    // Not kafkajs: a factory of one's own named producer(), with send, sendBatch and transaction.
    {
      filename: file,
      code: "declare const bus: { producer(): { send(r: { topic: string; messages: { key: string; value: string }[] }): void; sendBatch(): void; transaction(): void } }\nconst p = bus.producer()\np.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })",
    },
    // With orderedTopics, only those topics count.
    {
      filename: file,
      code:
        kafkajs +
        "const p = kafka.producer()\nawait p.send({ topic: 'logs', messages: [{ key: 'host-1', value: 'x' }] })",
      options: [{ orderedTopics: ['orders.*'] }],
    },
  ],
  invalid: [
    {
      filename: file,
      code: code(
        "const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 5 })\nawait p.send(orders, { key: 'o', value: 1 })",
      ),
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
              output: code(
                "const p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 1 })\nawait p.send(orders, { key: 'o', value: 1 })",
              ),
            },
          ],
        },
      ],
    },
    // The options held in a const, the topic ordered and compacted.
    {
      filename: file,
      code: code(
        "const fast = { idempotent: false, acks: 'leader', maxInFlight: 3, retries: 2 } as const\nconst p = client.producer(fast)\nawait p.send(accounts, { key: 'a', value: 1 })",
      ),
      errors: [
        {
          messageId: 'keyedReordering',
          data: { retries: '2', inFlight: '3', topic: 'accounts' },
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlight' },
              output: code(
                "const fast = { idempotent: false, acks: 'leader', maxInFlight: 1, retries: 2 } as const\nconst p = client.producer(fast)\nawait p.send(accounts, { key: 'a', value: 1 })",
              ),
            },
          ],
        },
      ],
    },
    // kafkajs defaults: not idempotent, unlimited in flight, 5 retries.
    {
      filename: file,
      code:
        kafkajs +
        "const p = kafka.producer()\nawait p.connect()\nawait p.send({ topic: 'orders', messages: [{ key: 'o-1', value: 'x' }] })",
      errors: [
        {
          messageId: 'kafkajsReordering',
          data: { inFlight: 'any number of requests (maxInFlightRequests is unset)', topic: "'orders'" },
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlightRequests' },
              output:
                kafkajs +
                "const p = kafka.producer({ maxInFlightRequests: 1 })\nawait p.connect()\nawait p.send({ topic: 'orders', messages: [{ key: 'o-1', value: 'x' }] })",
            },
          ],
        },
      ],
    },
    {
      filename: file,
      code:
        kafkajs +
        "const p = kafka.producer({ idempotent: false, maxInFlightRequests: 5, retry: { retries: 3 } })\nawait p.sendBatch({ topicMessages: [{ topic: 'orders.eu', messages: [{ value: 'x' }] }] })",
      options: [{ orderedTopics: ['orders.*'] }],
      errors: [
        {
          messageId: 'kafkajsReordering',
          data: { inFlight: '5 requests', topic: "'orders.eu'" },
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlightRequests' },
              output:
                kafkajs +
                "const p = kafka.producer({ idempotent: false, maxInFlightRequests: 1, retry: { retries: 3 } })\nawait p.sendBatch({ topicMessages: [{ topic: 'orders.eu', messages: [{ value: 'x' }] }] })",
            },
          ],
        },
      ],
    },
    {
      filename: file,
      code:
        kafkajs +
        "const p = kafka.producer({ allowAutoTopicCreation: false })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })",
      errors: [
        {
          messageId: 'kafkajsReordering',
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlightRequests' },
              output:
                kafkajs +
                "const p = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 })\nawait p.send({ topic: 'orders', messages: [{ key: 'o', value: 'x' }] })",
            },
          ],
        },
      ],
    },
    // A producer kept in a class field: assigned in the constructor, sent through this.producer in a method.
    {
      filename: file,
      code: service('private producer: Producer', 'this.producer = kafka.producer()', sendOrder),
      errors: [
        {
          messageId: 'kafkajsReordering',
          line: 4,
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlightRequests' },
              output: service(
                'private producer: Producer',
                'this.producer = kafka.producer({ maxInFlightRequests: 1 })',
                sendOrder,
              ),
            },
          ],
        },
      ],
    },
    // A private field initialized where it is declared, sent through from an arrow function.
    {
      filename: file,
      code:
        kafkajs +
        "export class Payments {\n  #producer = kafka.producer({ idempotent: false, maxInFlightRequests: 5 })\n  pay = async (id: string) => { await this.#producer.send({ topic: 'payments', messages: [{ key: id, value: 'x' }] }) }\n}",
      errors: [
        {
          messageId: 'kafkajsReordering',
          data: { inFlight: '5 requests', topic: "'payments'" },
          line: 4,
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlightRequests' },
              output:
                kafkajs +
                "export class Payments {\n  #producer = kafka.producer({ idempotent: false, maxInFlightRequests: 1 })\n  pay = async (id: string) => { await this.#producer.send({ topic: 'payments', messages: [{ key: id, value: 'x' }] }) }\n}",
            },
          ],
        },
      ],
    },
    // keyed's producer in a class field too.
    {
      filename: file,
      code: code(
        "export class Billing {\n  private readonly p\n  constructor() { this.p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 5 }) }\n  bill() { return this.p.send(orders, { key: 'o', value: 1 }) }\n}",
      ),
      errors: [
        {
          messageId: 'keyedReordering',
          line: 4,
          suggestions: [
            {
              messageId: 'setMaxInFlight',
              data: { name: 'maxInFlight' },
              output: code(
                "export class Billing {\n  private readonly p\n  constructor() { this.p = client.producer({ idempotent: false, acks: 'leader', maxInFlight: 1 }) }\n  bill() { return this.p.send(orders, { key: 'o', value: 1 }) }\n}",
              ),
            },
          ],
        },
      ],
    },
  ],
})
