import rule from '../src/rules/no-tombstone-on-uncompacted-topic.js'
import { file, header, nonStrict, ruleTester } from './rule-tester.js'

const code = (body: string) => header + body

ruleTester.run('no-tombstone-on-uncompacted-topic', rule as never, {
  valid: [
    { filename: file, code: code("await producer.send(profiles, { key: 'u-1', value: null })") },
    { filename: file, code: code("await producer.tombstone(profiles, 'u-1')") },
    { filename: file, code: code("await producer.tombstone(accounts, 'a-1')") },
    { filename: file, code: code("await producer.send(orders, { key: 'o-1', value: { total: 1 } })") },
    // A value typed as possibly null is fine on a compacted topic.
    {
      filename: file,
      code: code("declare const v: { name: string } | null\nawait producer.send(profiles, { key: 'u', value: v })"),
    },
    // Without strictNullChecks a declared `X | null` is just X: only the literal is reported.
    {
      ...nonStrict,
      code: code("declare const v: { name: string } | null\nawait producer.send(orders, { key: 'o', value: v })"),
    },
    // A generic helper over compacted topics.
    {
      filename: file,
      code: code(
        "import type { CompactedTopic } from '@keyed/sdk'\nexport const drop = <T extends CompactedTopic>(t: T, k: string) => producer.send(t, { key: k, value: null } as never)",
      ),
    },
  ],
  invalid: [
    {
      filename: file,
      code: code("await producer.send(orders, { key: 'o-1', value: null } as any)"),
      errors: [{ messageId: 'nullValue', data: { topic: 'orders' }, line: 2, column: 50 }],
    },
    // JavaScript callers and `as any` get past the type of tombstone().
    {
      filename: file,
      code: code("await producer.tombstone(orders as any, 'o-1')"),
      errors: [{ messageId: 'tombstone', data: { topic: 'orders' } }],
    },
    {
      filename: file,
      code: code("await (producer as any).tombstone(orders, 'o-1')"),
      errors: [{ messageId: 'tombstone', data: { topic: 'orders' } }],
    },
    {
      filename: file,
      code: code("// @ts-expect-error: not compacted\nawait producer.tombstone(orders, 'o-1')"),
      errors: [{ messageId: 'tombstone' }],
    },
    {
      filename: file,
      code: code('await producer.send(clicks, [{ value: 1 }, { value: null }] as any)'),
      errors: [{ messageId: 'nullValue', data: { topic: 'clicks' } }],
    },
    {
      filename: file,
      code: code(
        "declare const v: { total: number } | null\nawait producer.send(orders, { key: 'o', value: v } as never)",
      ),
      errors: [{ messageId: 'nullableValue', data: { topic: 'orders', type: '{ total: number; } | null' } }],
    },
    {
      filename: file,
      code: code("const t = orders\nconst record = { key: 'o', value: null }\nawait producer.send(t, record as never)"),
      errors: [{ messageId: 'nullValue', data: { topic: 't' } }],
    },
    {
      filename: file,
      code: code('declare const base: { key: string; value: null }\nawait producer.send(orders, { ...base } as never)'),
      errors: [{ messageId: 'nullableValue', data: { topic: 'orders', type: 'null' } }],
    },
    {
      ...nonStrict,
      code: code("await producer.send(orders, { key: 'o', value: null })"),
      errors: [{ messageId: 'nullValue' }],
    },
  ],
})
