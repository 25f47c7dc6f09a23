import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces one record per UTF-8 line of stdin (the line is the key) with the official Java client and its default
 * partitioner, and prints "partition offset" per record. Usage: java -cp 'libs/*' JavaProducer.java <bootstrap> <topic>
 */
public class JavaProducer {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", StringSerializer.class.getName());
    props.put("enable.idempotence", "true");
    props.put("acks", "all");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      String key;
      int seq = 0;
      while ((key = in.readLine()) != null) {
        String value = "{\"from\":\"java\",\"seq\":" + seq++ + "}";
        RecordMetadata m = producer.send(new ProducerRecord<>(args[1], key, value)).get();
        System.out.println(m.partition() + " " + m.offset());
      }
    }
  }
}
