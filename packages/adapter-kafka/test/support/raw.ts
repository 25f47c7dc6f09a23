import kafkajs, { type Admin } from 'kafkajs'
import { BROKER } from './brokers.js'

const { Kafka, logLevel } = kafkajs

/** A plain kafkajs admin, to look at what the adapter did from outside it. */
export async function rawAdmin(brokers: string[] = [BROKER]): Promise<Admin> {
  const admin = new Kafka({ brokers, clientId: 'keyed-test-raw', logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  return admin
}

export async function topicConfig(admin: Admin, topic: string): Promise<Record<string, string>> {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }],
    includeSynonyms: false,
  })
  return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]))
}
