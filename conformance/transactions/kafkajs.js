// kafkajs transactions against rokka (conformance/transactions/run.sh):
// commit, abort, commit with sendOffsets; a read_committed kafkajs consumer
// must see exactly the committed records in order, and the group's offset
// must be the one sent in the committed transaction.
// usage: node kafkajs.js BOOT   (exit code 0 = ok)
const { Kafka, logLevel } = require('kafkajs');

const boot = process.argv[2];
const kafka = new Kafka({ clientId: 'rokka-txn', brokers: [boot], logLevel: logLevel.NOTHING });
const topic = 'txn-kafkajs';
const fail = (m) => { console.log(`FAIL kafkajs: ${m}`); process.exit(1); };
const bounded = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what} timed out`)), ms))]);

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();

  const producer = kafka.producer({ transactionalId: 'kafkajs-tx', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const send = async (values, commit, offsets) => {
    const txn = await producer.transaction();
    await txn.send({ topic, messages: values.map((v) => ({ value: v, partition: 0 })) });
    if (offsets) {
      await txn.sendOffsets({ consumerGroupId: 'kafkajs-ctp', topics: [{ topic, partitions: [{ partition: 0, offset: offsets }] }] });
    }
    await (commit ? txn.commit() : txn.abort());
  };
  const c1 = ['k-0', 'k-1', 'k-2', 'k-3', 'k-4'];
  const c2 = ['k-5', 'k-6', 'k-7', 'k-8', 'k-9'];
  await send(c1, true);
  await send(['x-0', 'x-1', 'x-2'], false, '99');
  await send(c2, true, '3');
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'kafkajs-reader', readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  let done;
  const finished = new Promise((r) => { done = r; });
  await consumer.run({
    eachMessage: async ({ message }) => {
      got.push(message.value.toString());
      if (got.length >= 10) done();
    },
  });
  await bounded(finished, 30000, 'read_committed consume').catch((e) => fail(e.message));
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  const want = c1.concat(c2);
  if (JSON.stringify(got) !== JSON.stringify(want)) fail(`read_committed got ${JSON.stringify(got)}`);
  console.log(`ok kafkajs read_committed: ${got.length} committed records in order, no aborted one`);

  const admin2 = kafka.admin();
  await admin2.connect();
  const offs = await admin2.fetchOffsets({ groupId: 'kafkajs-ctp', topics: [topic] });
  await admin2.disconnect();
  const off = offs[0].partitions[0].offset;
  if (off !== '3') fail(`sendOffsets: group offset ${off}, want 3 (the aborted 99 must not apply)`);
  console.log('ok kafkajs sendOffsets: the committed transaction\'s offset, not the aborted one');
}

bounded(main(), 90000, 'kafkajs scenario').then(() => process.exit(0), (e) => fail(e.stack || e));
