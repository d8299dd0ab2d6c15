"""
Frame sets as `brender serve` takes them ("1-250", "1-250:5", "1-10,15"),
built from a scene's range or checked as typed, with the fix in the message.
No bpy here, so it is tested with plain Python.
"""
import re

_PART = re.compile(r"^(-?\d+)(?:-(-?\d+)(?::(\d+))?)?$")
EXPECTED = 'write frames like "1-250", "1-250:5" or "1-10,15"'


def scene_frames(start, end, step=1):
    """The frame set of a scene's range and step."""
    if end < start:
        raise ValueError("the scene's end frame (%d) is before its start (%d): fix the frame range in Output Properties." % (end, start))
    if start == end:
        return str(start)
    return "%d-%d" % (start, end) if step == 1 else "%d-%d:%d" % (start, end, step)


def parse_frames(text):
    """The frames a frame set names, in order, without repeats; ValueError names the bad part and the fix."""
    cleaned = (text or "").replace(" ", "")
    if not cleaned:
        raise ValueError("the frame set is empty; " + EXPECTED + ".")
    frames = []
    seen = set()
    for part in cleaned.split(","):
        match = _PART.match(part)
        if not match:
            raise ValueError('"%s" is not a frame or range; %s.' % (part, EXPECTED))
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) is not None else start
        step = int(match.group(3)) if match.group(3) is not None else 1
        if end < start:
            raise ValueError('"%s" ends before it starts; %s.' % (part, EXPECTED))
        if step < 1:
            raise ValueError('"%s" has a step below 1; %s.' % (part, EXPECTED))
        for frame in range(start, end + 1, step):
            if frame not in seen:
                seen.add(frame)
                frames.append(frame)
    return frames


def check_frames(text):
    """The frame set as sent (spaces removed), after checking it parses."""
    parse_frames(text)
    return text.replace(" ", "")
