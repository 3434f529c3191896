/** This package's version: part of every script's command name (`keel:cache:<name>:<version>`). */
export const VERSION = '0.1.0';
