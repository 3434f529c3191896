/** This package's version: part of every script's command name (`keel:lock:<script>:<version>`). */
export const VERSION = '0.1.0';
