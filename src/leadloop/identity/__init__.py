"""Identity stitching: normalise raw identifiers so one person or company gets one key."""
