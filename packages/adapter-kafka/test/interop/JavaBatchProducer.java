import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * For each codec of the comma-separated <codecs>, produces <count> records with the official Java client and
 * compression.type=<codec> (one JVM for all, as starting one is slow); every record has a header "seq" and, when
 * <nullHeader> is "null-header", a header "empty" whose value is null (legal in Kafka). Keys are "<codec>-<i>", values
 * {"codec":…,"seq":i}. Prints "sent <codec> <count>" per codec.
 * Usage: java -cp 'libs/*' JavaBatchProducer.java <bootstrap> <topic> <codecs> <count> [null-header]
 */
public class JavaBatchProducer {
  public static void main(String[] args) throws Exception {
    for (String codec : args[2].split(",")) produce(args, codec);
  }

  static void produce(String[] args, String codec) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", StringSerializer.class.getName());
    props.put("compression.type", codec);
    // Records wait for each other so that one compressed batch holds many of them.
    props.put("linger.ms", "50");
    props.put("enable.idempotence", "true");
    props.put("acks", "all");
    int count = Integer.parseInt(args[3]);
    boolean nullHeader = args.length > 4 && args[4].equals("null-header");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      for (int i = 0; i < count; i++) {
        ProducerRecord<String, String> record = new ProducerRecord<>(args[1], codec + "-" + i, "{\"codec\":\"" + codec + "\",\"seq\":" + i + "}");
        record.headers().add(new RecordHeader("seq", String.valueOf(i).getBytes(StandardCharsets.UTF_8)));
        if (nullHeader) record.headers().add(new RecordHeader("empty", (byte[]) null));
        producer.send(record);
      }
      producer.flush();
    }
    System.out.println("sent " + codec + " " + count);
  }
}
