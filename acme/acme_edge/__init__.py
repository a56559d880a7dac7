"""The acme compose profile's programs: certbot around nginx (docker-compose.yml, acme/README.md)."""
