import rule from '../src/rules/no-constant-key.js'
import { file, header, ruleTester } from './rule-tester.js'

const code = (body: string) => header + body

ruleTester.run('no-constant-key', rule as never, {
  valid: [
    // One record with a literal key: a demo or a test, not a design (reported by the strict config).
    { filename: file, code: code("await producer.send(orders, { key: 'order-1', value: 1 })") },
    { filename: file, code: code("await producer.send(orders, [{ key: 'a', value: 1 }, { key: 'b', value: 2 }])") },
    {
      filename: file,
      code: code(
        'declare const ids: string[]\nfor (const id of ids) await producer.send(orders, { key: id, value: 1 })',
      ),
    },
    {
      filename: file,
      code: code(
        'declare const rows: { id: string }[]\nawait producer.send(orders, rows.map((r) => ({ key: r.id, value: r })))',
      ),
    },
    // A key type that is a union of literals is constant by design.
    { filename: file, code: code("for (let i = 0; i < 3; i++) await producer.send(regions, { key: 'eu', value: i })") },
    {
      filename: file,
      code: code(
        "declare const region: 'eu' | 'us'\nfor (let i = 0; i < 3; i++) await producer.send(orders, { key: region, value: i })",
      ),
    },
    {
      filename: file,
      code: code(
        'await producer.send(orders, Array.from({ length: 10 }, (_, i) => ({ key: `order-${i}`, value: i })))',
      ),
    },
    // A constant key on a compacted topic is the design when the key schema says so (a literal): not reported, even by strict.
    {
      filename: file,
      code: "import { config, producer } from './topics.js'\nfor (const theme of ['dark', 'light']) await producer.send(config, { key: 'current', value: { theme } })",
    },
    {
      filename: file,
      code: "import { config, producer } from './topics.js'\nawait producer.send(config, { key: 'current', value: 1 })",
      options: [{ checkSingleSends: true }],
    },
    // Single send with a literal is allowed unless checkSingleSends.
    { filename: file, code: code("await producer.send(orders, [{ key: 'a', value: 1 }])") },
  ],
  invalid: [
    {
      filename: file,
      code: code("await producer.send(orders, [{ key: 'all', value: 1 }, { key: 'all', value: 2 }])"),
      errors: [{ messageId: 'constantKey', data: { key: '"all"', topic: 'orders' }, line: 2, column: 29 }],
    },
    // A const with a literal type.
    {
      filename: file,
      code: code(
        "const KEY = 'events'\ndeclare const rows: number[]\nawait producer.send(clicks, rows.map((n) => ({ key: KEY, value: n })))",
      ),
      errors: [{ messageId: 'constantKey', data: { key: '"events"', topic: 'clicks' } }],
    },
    // In a loop or an iterating callback, one literal key means every record gets it.
    {
      filename: file,
      code: code(
        'declare const rows: number[]\nfor (const n of rows) await producer.send(orders, { key: 1, value: n })',
      ),
      errors: [{ messageId: 'constantKey', data: { key: '1', topic: 'orders' }, line: 3 }],
    },
    {
      filename: file,
      code: code(
        'declare const rows: number[]\nrows.forEach((n) => void producer.send(orders, { key: `bucket`, value: n }))',
      ),
      errors: [{ messageId: 'constantKey' }],
    },
    {
      filename: file,
      code: code("await producer.send(orders, Array.from({ length: 10 }, (_, i) => ({ key: 'same', value: i })))"),
      errors: [{ messageId: 'constantKey' }],
    },
    // strict: any literal key.
    {
      filename: file,
      code: code("await producer.send(orders, { key: 'order-1', value: 1 })"),
      options: [{ checkSingleSends: true }],
      errors: [{ messageId: 'constantKey' }],
    },
    // The same design with a plain string key schema is reported, and the message says how to declare it intended.
    {
      filename: file,
      code: code(
        "for (const theme of ['dark', 'light']) await producer.send(accounts, { key: 'current', value: { theme } })",
      ),
      errors: [{ messageId: 'constantKey', data: { key: '"current"', topic: 'accounts' } }],
    },
    // kafkajs batches too, in kafkajs terms.
    {
      filename: file,
      code: "import { Kafka } from 'kafkajs'\nconst p = new Kafka({ brokers: [] }).producer()\nawait p.send({ topic: 'events', messages: [{ key: 'x', value: '1' }, { key: 'x', value: '2' }] })",
      errors: [{ messageId: 'kafkajsConstantKey', data: { key: '"x"', topic: "'events'" } }],
    },
    // A producer kept in a class field is a kafkajs sender by its type.
    {
      filename: file,
      code: "import { Kafka, type Producer } from 'kafkajs'\nexport class Events {\n  private readonly producer: Producer = new Kafka({ brokers: [] }).producer()\n  async all(rows: string[]) { for (const row of rows) await this.producer.send({ topic: 'events', messages: [{ key: 'all', value: row }] }) }\n}",
      errors: [{ messageId: 'kafkajsConstantKey', line: 4 }],
    },
  ],
})
