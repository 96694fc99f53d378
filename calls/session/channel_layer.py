"""The Redis channel layer, with a group send to nobody costing one round trip instead of two.

channels_redis' `group_send` first drops the group's expired members, then reads the rest, as two
round trips, before it sends anything. Most calls have no socket listening (a REST-only agent), so
most of the three events a call publishes go to an empty group (issue 24). Here both commands go
as one pipeline on the same connection, in the same order, so the group is read exactly as
channels_redis reads it; when anyone listens, channels_redis' own `group_send` delivers.
"""

import time

from channels_redis.core import RedisChannelLayer


class GatewayChannelLayer(RedisChannelLayer):
    async def group_send(self, group: str, message: dict) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"  # noqa: S101 (as channels_redis)
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zcard(key)
        _expired, members = await pipe.execute()
        if members:
            await super().group_send(group, message)
