import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A Java consumer-group member: joins <group> on <topic> with group.protocol=<protocol> (classic or consumer), prints
 * "assigned N" once it holds partitions, then polls until <seconds> have passed.
 * Usage: java -cp 'libs/*' JavaGroupMember.java <bootstrap> <topic> <group> <protocol> <seconds>
 */
public class JavaGroupMember {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("group.id", args[2]);
    props.put("group.protocol", args[3]);
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    long until = System.currentTimeMillis() + Long.parseLong(args[4]) * 1000;
    boolean announced = false;
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(args[1]));
      while (System.currentTimeMillis() < until) {
        consumer.poll(Duration.ofMillis(200));
        if (!announced && !consumer.assignment().isEmpty()) {
          System.out.println("assigned " + consumer.assignment().size());
          System.out.flush();
          announced = true;
        }
      }
    }
  }
}
