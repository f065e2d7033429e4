"""A stand-in for the API server: HTTPS on 0.0.0.0:6443, /healthz answers "ok" and /whoami the
node's hostname (so a test sees which node's backend answered through the VIP)."""

import http.server
import socket
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        bodies = {'/healthz': b'ok', '/whoami': socket.gethostname().encode()}
        body = bodies.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header('Content-Length', str(len(body or b'')))
        self.end_headers()
        self.wfile.write(body or b'')

    def log_message(self, *args):
        pass


def main(cert, key, port=6443):
    server = http.server.ThreadingHTTPServer(('0.0.0.0', port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == '__main__':
    main(*sys.argv[1:3])
