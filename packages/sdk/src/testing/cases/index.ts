import type { ConformanceCase } from '../case.js'
import { accumulatorCases } from './accumulator.js'
import { batchCases } from './batch.js'
import { concurrencyCases } from './concurrency.js'
import { consumeCases } from './consume.js'
import { controlCases } from './control.js'
import { groupCases } from './groups.js'
import { messagesCases } from './messages.js'
import { observabilityCases } from './observability.js'
import { produceCases } from './produce.js'
import { retentionCases } from './retention.js'
import { tablePartitionCases } from './table-partitions.js'
import { tableCases } from './tables.js'
import { telemetryCases } from './telemetry.js'

/** The conformance suite: every case, by area. A new case goes into the module of its area. */
export const conformanceCases: readonly ConformanceCase[] = [
  ...produceCases,
  ...accumulatorCases,
  ...consumeCases,
  ...concurrencyCases,
  ...batchCases,
  ...messagesCases,
  ...groupCases,
  ...controlCases,
  ...retentionCases,
  ...tableCases,
  ...tablePartitionCases,
  ...observabilityCases,
  ...telemetryCases,
]
