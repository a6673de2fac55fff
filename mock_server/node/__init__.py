"""Node.js and Express as Unleash runs on them, as far as a client can see: V8's JSON and
numbers, express.json's body parser, compression, Express's routing, express-rate-limit, Ajv's
validation, and Node's HTTP server limits. Nothing here knows about PATs or users."""
