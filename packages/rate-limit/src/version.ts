/** This package's version: part of every Redis script's command name (`keel:rl:<script>:<version>`). */
export const VERSION = '0.1.0';
