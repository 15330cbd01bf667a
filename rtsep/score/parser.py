"""MIDI bytes to messages, tolerant of everything a cable or a port can deliver.

A live port hands over bytes; they are not always whole, valid messages. ``MidiParser`` follows
the MIDI 1.0 byte grammar: a status byte (0x80-0xEF) starts a channel message and stays in force
for later data bytes (running status); system common bytes (0xF0-0xF7) end running status;
real-time bytes (0xF8-0xFF) may appear anywhere, even inside another message, and change
nothing. SysEx (0xF0 ... 0xF7) is skipped whole. What cannot be parsed is counted, never raised:

- ``dropped``: data bytes with no status in force, and messages cut short by a new status byte;
- ``ignored``: well-formed messages the score has no use for (SysEx, clock, active sensing,
  song position, undefined system bytes).

The parser keeps its state between calls, so a message split across two chunks still parses.
"""

from __future__ import annotations

# data bytes each channel-message kind needs, by the status byte's high nibble
_CHANNEL_DATA = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
# data bytes of the system common messages (0xF4, 0xF5 are undefined and carry none)
_COMMON_DATA = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF4: 0, 0xF5: 0, 0xF6: 0}


class MidiParser:
    """Turns bytes into complete channel messages ``(status, data1, data2)``.

    ``feed(data)`` returns the channel messages completed by ``data`` (data2 is 0 for the
    one-byte kinds). Counters: ``messages`` (channel messages out), ``ignored``, ``dropped``.
    """

    def __init__(self):
        self.messages = 0
        self.ignored = 0
        self.dropped = 0
        self.reset()

    def reset(self) -> None:
        """Forget running status and any partial message (counters stay)."""
        self._status = 0  # running status: the channel status in force, or 0
        self._need = 0  # data bytes the message in progress still needs
        self._data: list[int] = []
        self._in_sysex = False
        self._common = 0  # a system common message in progress, or 0

    def feed(self, data) -> list[tuple[int, int, int]]:
        """Parse ``data`` (bytes, or ints 0-255); return the channel messages it completes."""
        out: list[tuple[int, int, int]] = []
        for raw in data:
            b = int(raw) & 0xFF
            if b >= 0xF8:  # real-time: clock, start, stop, active sensing, reset, undefined
                self.ignored += 1
                continue
            if b >= 0x80:
                self._status_byte(b)
                continue
            if self._in_sysex:
                continue  # SysEx payload
            if self._common:
                self._data.append(b)
                if len(self._data) >= _COMMON_DATA[self._common]:
                    self.ignored += 1
                    self._common = 0
                    self._data = []
                continue
            if not self._status:
                self.dropped += 1  # a data byte with no status to belong to
                continue
            self._data.append(b)
            if len(self._data) == self._need:
                d = self._data
                out.append((self._status, d[0], d[1] if len(d) > 1 else 0))
                self.messages += 1
                self._data = []
        return out

    def _status_byte(self, b: int) -> None:
        if self._in_sysex:
            self._in_sysex = False
            self.ignored += 1  # the SysEx, terminated by F7 or cut off by any status byte
            if b == 0xF7:
                return
        if self._data or self._common:  # a new status cut the previous message short
            self.dropped += 1
        self._data = []
        self._common = 0
        if b < 0xF0:
            self._status = b
            self._need = _CHANNEL_DATA[b >> 4]
            return
        self._status = 0  # system common messages end running status
        if b == 0xF0:
            self._in_sysex = True
        elif b == 0xF7:
            self.dropped += 1  # an end of SysEx with no SysEx open
        elif _COMMON_DATA[b] == 0:
            self.ignored += 1  # tune request, or an undefined status
        else:
            self._common = b
