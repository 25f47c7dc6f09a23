import { runScript } from './scripts.js'

/** Starts the three-broker cluster for the fault tests and stops it afterwards. */
export default function setup(): () => void {
  runScript('kafka-cluster.sh', 'start')
  return () => runScript('kafka-cluster.sh', 'stop')
}
