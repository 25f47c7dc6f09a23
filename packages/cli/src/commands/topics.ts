import type { Backend, TopicDescription } from '@keyed/sdk/backend'
import { UsageError } from '../errors.js'

/** The topic as the backend has it; a topic that is not there is the user's mistake, said in one line. */
export async function describeTopic(backend: Backend, display: string, topic: string): Promise<TopicDescription> {
  const description = await backend.describeTopic(topic)
  if (!description) throw new UsageError(`Topic '${topic}' does not exist on ${display}. Check the name and --backend.`)
  return description
}
