"""Tests of the Scoro plugin (imported as ``scoro.tests.*``)."""
