// No type annotation in this file: the rules still get types from the project service.
import { audit, orders, producer } from './topics.js'

for (const amount of [1, 2, 3]) {
  await producer.send(orders, { key: 'all', value: { amount } }) // expect: no-constant-key
}
await producer.send(audit, { key: 'once', value: { line: 'fine in recommended' } }) // strict: no-constant-key
