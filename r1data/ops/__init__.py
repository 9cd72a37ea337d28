"""Pure transforms over tables and strings: no paths, no printing."""
