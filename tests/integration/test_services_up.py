"""The real services answer: one round trip to each of Kafka, PostgreSQL, Redis and S3.

These are the canaries of the integration tier. When ``make services`` (or testcontainers) provides
the servers they must pass; with ``REQUIRE_SERVICES=1`` a missing server fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import io

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from minio import Minio

from tests.conftest import S3Server

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]


async def test_kafka_round_trip_on_a_fresh_topic(kafka_bootstrap: str, unique_name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(unique_name, num_partitions=3, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            sent = await producer.send_and_wait(unique_name, b"ping", key=b"k")
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            unique_name,
            bootstrap_servers=kafka_bootstrap,
            group_id=unique_name,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            received = await asyncio.wait_for(consumer.getone(), timeout=30)
        finally:
            await consumer.stop()
        assert (received.value, received.key) == (b"ping", b"k")
        assert (received.partition, received.offset) == (sent.partition, sent.offset)
    finally:
        await admin.delete_topics([unique_name])
        await admin.close()


async def test_postgres_answers_sql(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn, timeout=10)
    try:
        assert await conn.fetchval("select 1") == 1
    finally:
        await conn.close()


async def test_redis_ping_set_get(redis_url: str, unique_name: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        assert await client.ping()
        await client.set(unique_name, b"value", ex=60)
        assert await client.get(unique_name) == b"value"
        await client.delete(unique_name)
    finally:
        await client.aclose()


def test_s3_bucket_put_get(s3_server: S3Server, unique_name: str) -> None:
    client = Minio(
        s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        secure=s3_server.secure,
    )
    client.make_bucket(unique_name)
    try:
        client.put_object(unique_name, "dir/object.bin", io.BytesIO(b"payload"), length=7)
        response = client.get_object(unique_name, "dir/object.bin")
        try:
            assert response.read() == b"payload"
        finally:
            response.close()
            response.release_conn()
        client.remove_object(unique_name, "dir/object.bin")
    finally:
        client.remove_bucket(unique_name)
